// Edge: finding a project's containers through the Engine API by Compose labels.
import type { ContainerInfo } from 'dockerode';
import { PhaseComposeError } from '../util/errors.js';
import type { DockerClient } from './client.js';
import { pickRunning, projectFilters, L_SERVICE } from './labels.js';

/** A container's name as `docker ps` prints it (the Engine's first name without its leading slash), else its ID. */
export const containerName = (c: Pick<ContainerInfo, 'Names' | 'Id'>): string => (c.Names[0] ?? c.Id).replace(/^\//, '');

/** Every container of the project (running or not: `all: true`, so exited jobs are seen too). */
export async function listProject(docker: DockerClient, project: string, service?: string): Promise<ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: projectFilters(project, service) });
}

/** The running container of `service`, or a PhaseComposeError saying why there is none. */
export async function runningContainer(docker: DockerClient, project: string, service: string): Promise<ContainerInfo> {
  const all = await listProject(docker, project);
  const c = pickRunning(all, service);
  if (c) return c;
  if (!all.length) {
    throw new PhaseComposeError('failed', `the stack "${project}" is not running (no containers with label com.docker.compose.project=${project})`, {
      details: ['start it with `phase-compose up`, or name the project with -p <name>'],
    });
  }
  const mine = all.filter((x) => x.Labels[L_SERVICE] === service);
  throw new PhaseComposeError(
    'failed',
    mine.length
      ? `service "${service}" has no running container (${mine.map((x) => `${containerName(x)}: ${x.Status}`).join('; ')})`
      : `project "${project}" has no service "${service}"`,
    { details: [`see \`docker ps -a --filter label=com.docker.compose.project=${project}\``] },
  );
}
