// Compose's container labels, and pure helpers over `listContainers` results.
import type { ContainerInfo } from 'dockerode';

export const L_PROJECT = 'com.docker.compose.project';
export const L_SERVICE = 'com.docker.compose.service';
export const L_ONEOFF = 'com.docker.compose.oneoff';
export const L_NUMBER = 'com.docker.compose.container-number';

/** Compose normalises project names: lower-case, only [a-z0-9_-]. */
export function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]/g, '');
}

/** Filters for listContainers: one project, optionally one service, never one-off `run` containers. */
export function projectFilters(project: string, service?: string): Record<string, string[]> {
  const label = [`${L_PROJECT}=${project}`, `${L_ONEOFF}=False`];
  if (service) label.push(`${L_SERVICE}=${service}`);
  return { label };
}

/** The running container of a service with the lowest container number (deterministic choice). */
export function pickRunning(containers: ContainerInfo[], service: string): ContainerInfo | undefined {
  return containers
    .filter((c) => c.Labels[L_SERVICE] === service && c.State === 'running')
    .sort((a, b) => Number(a.Labels[L_NUMBER] ?? 0) - Number(b.Labels[L_NUMBER] ?? 0))[0];
}
