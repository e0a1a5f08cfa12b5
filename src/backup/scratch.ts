// A throwaway PostgreSQL container (no network, random password) for `backup verify`: pg_restore --list,
// and with --deep a full restore whose row counts are printed. Always removed, with its volume.
import { randomBytes } from 'node:crypto';
import type { DockerClient } from '../docker/client.js';
import { execIn } from '../docker/exec.js';
import type { PgTarget } from '../exec/postgres.js';
import { PhaseComposeError } from '../util/errors.js';

export const LABEL_SCRATCH = 'dev.phase-compose.scratch';

export type Scratch = { pg: PgTarget; remove: () => Promise<void> };

/** The verification given up on by Ctrl-C or SIGTERM (the signal's reason names it): nothing of it is left. */
export function interruptedScratch(signal: AbortSignal): PhaseComposeError {
  return new PhaseComposeError('interrupted', `interrupted (${String(signal.reason ?? 'signal')}) while the archive was checked`, {
    details: ['the throwaway PostgreSQL container was removed, with its volume'],
  });
}

/**
 * Starts `image` and waits (up to `timeoutMs`) until its server answers on TCP, as the real one would.
 * An aborted `signal` removes it and throws `interrupted`.
 */
export async function startScratchPostgres(docker: DockerClient, image: string, timeoutMs = 120_000, signal?: AbortSignal): Promise<Scratch> {
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
  // Once: a removal on Ctrl-C and the one that always follows are the same request, awaited by both.
  let removing: Promise<void> | undefined;
  const remove = () => (removing ??= container.remove({ force: true, v: true }).then(() => undefined, () => undefined));
  try {
    await container.start();
    const pg: PgTarget = { containerId: container.id, user: 'postgres', db: 'postgres' };
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (signal?.aborted) throw interruptedScratch(signal);
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
