// Compose's container labels, and pure helpers over `listContainers` results.
import type { ContainerInfo } from 'dockerode';
import { compareVersions } from '../spec/target.js';

export const L_PROJECT = 'com.docker.compose.project';
export const L_SERVICE = 'com.docker.compose.service';
export const L_ONEOFF = 'com.docker.compose.oneoff';
export const L_NUMBER = 'com.docker.compose.container-number';
/** The version of the Compose that created the container (Compose v2 writes it; v1 writes its own). */
export const L_COMPOSE_VERSION = 'com.docker.compose.version';
/** The directory Compose ran in when it created a container (v1.29 and v2 set it). */
export const L_WORKING_DIR = 'com.docker.compose.project.working_dir';

/**
 * Compose v2 from 2.19 until 2.29.3 labels a container created with `up --no-deps` with a config hash
 * that leaves out the service's depends_on, while a plain `up` hashes it in, and then recreates the
 * container though nothing changed (docker/compose#12069). By their source: compose-go strips the
 * depends_on of services named with --no-deps from its v1.14 (Compose 2.19), and Compose's hash leaves
 * depends_on out from 2.29.3 (docker/compose#12072). 2.26.1 checked on the test bed.
 */
export function noDepsHashDrifts(composeVersion: string): boolean {
  const v = /^v?(\d+(?:\.\d+){0,3})(?:[-+~][\w.+~-]*)?$/.exec(composeVersion)?.[1]; // Debian's label: 2.26.1-4
  return v !== undefined && compareVersions(v, '2.19') >= 0 && compareVersions(v, '2.29.3') < 0;
}

/**
 * The services (sorted, once each) that a plain `docker compose up` would recreate though nothing
 * changed: a container created by an affected Compose (its version label) of a service that waits on
 * another (`withDeps`).
 */
export function driftedServices(containers: Array<Pick<ContainerInfo, 'Labels'>>, withDeps: ReadonlySet<string>): { services: string[]; compose?: string } {
  const hit = containers.filter((c) => withDeps.has(c.Labels[L_SERVICE] ?? '') && noDepsHashDrifts(c.Labels[L_COMPOSE_VERSION] ?? ''));
  return { services: [...new Set(hit.map((c) => c.Labels[L_SERVICE]!))].sort(), ...(hit.length ? { compose: hit[0]!.Labels[L_COMPOSE_VERSION] } : {}) };
}

/** Compose's own rule for project names (`-p`, COMPOSE_PROJECT_NAME), checked instead of normalising `../x` to `x`. */
export const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

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
