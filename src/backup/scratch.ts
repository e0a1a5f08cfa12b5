// A throwaway PostgreSQL container (no network, random password) for `backup verify`: pg_restore --list,
// and with --deep a full restore whose row counts are printed. Always removed, with its volume.
import { randomBytes } from 'node:crypto';
import type { DockerClient } from '../docker/client.js';
import { execIn } from '../docker/exec.js';
import type { PgTarget } from '../exec/postgres.js';
import { PhaseComposeError } from '../util/errors.js';

export const LABEL_SCRATCH = 'dev.phase-compose.scratch';

export type Scratch = { pg: PgTarget; remove: () => Promise<void> };

/** Starts `image` and waits (up to `timeoutMs`) until its server answers on TCP, as the real one would. */
export async function startScratchPostgres(docker: DockerClient, image: string, timeoutMs = 120_000): Promise<Scratch> {
  let container;
  try {
    container = await docker.createContainer({
      Image: image,
      Env: [`POSTGRES_PASSWORD=${randomBytes(16).toString('hex')}`],
      Labels: { [LABEL_SCRATCH]: 'backup-verify' },
      HostConfig: { NetworkMode: 'none' },
    });
  } catch (e) {
    throw new PhaseComposeError('docker', `cannot create a throwaway PostgreSQL container from ${image}: ${(e as Error).message}`, { details: ['pass --image with a PostgreSQL image that exists here'] });
  }
  const remove = () => container.remove({ force: true, v: true }).catch(() => undefined);
  try {
    await container.start();
    const pg: PgTarget = { containerId: container.id, user: 'postgres', db: 'postgres' };
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await execIn(docker, container.id, ['pg_isready', '-h', '127.0.0.1', '-U', 'postgres']).catch(() => ({ exitCode: -1 }));
      if (r.exitCode === 0) return { pg, remove };
      const state = (await container.inspect()).State;
      if (!state.Running) throw new PhaseComposeError('failed', `the throwaway PostgreSQL container (${image}) exited with ${state.ExitCode}`);
      if (Date.now() > deadline) throw new PhaseComposeError('timeout', `the throwaway PostgreSQL container (${image}) was not ready after ${timeoutMs / 1000}s`);
      await new Promise((r) => setTimeout(r, 300));
    }
  } catch (e) {
    await remove();
    throw e;
  }
}
