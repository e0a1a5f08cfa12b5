// Edge: the Docker Engine client. Created once by the CLI and passed in; nothing here is a singleton.
import type Dockerode from 'dockerode';
import { PhaseComposeError } from '../util/errors.js';

export type DockerClient = Dockerode;

/** Connects to the Engine (DOCKER_HOST or the local socket) and checks that it answers. */
export async function connectDocker(): Promise<DockerClient> {
  const { default: Docker } = await import('dockerode');
  const docker = new Docker();
  try {
    await docker.ping();
  } catch (e) {
    throw new PhaseComposeError('docker', 'cannot reach the Docker Engine', {
      details: [
        `${(e as Error).message}`,
        'is dockerd running? check with `docker info` (DOCKER_HOST selects another engine)',
      ],
      cause: e,
    });
  }
  return docker;
}
