// Whether a migration phase has anything to do, and the database backup taken before one runs. Shared
// by `up`/`migrate` (which run the phase only when something is pending) and `status` (which shows it).
import type { DockerClient } from '../docker/client.js';
import { LABEL_PROBE } from '../model/compose.js';
import type { Argv } from '../spec/types.js';
import type { NormalisedSpec } from '../spec/normalise.js';
import type { Stack } from '../stack/open.js';
import type { UpEngine } from './engine.js';

/** A phase's answer: pending or not, and whether the database was created by this very run. */
export type PendingAnswer = { pending: boolean; fresh: boolean };

/**
 * What is known without running the check: a database this run created has everything pending; a phase
 * without a check, without a container to copy, or forced, runs. Undefined: the check must run.
 */
export function knownPending(o: { fresh: boolean; check?: Argv; baseId?: string; force?: boolean }): PendingAnswer | undefined {
  if (o.fresh) return { pending: true, fresh: true };
  if (!o.check || !o.baseId || o.force) return { pending: true, fresh: false };
  return undefined;
}

/** Runs a phase's check in a throwaway copy of container `baseId` (labelled as our probe); exit 0: nothing pending. */
export async function checkPending(engine: Pick<UpEngine, 'runLike'>, baseId: string, check: Argv, project: string, signal?: AbortSignal): Promise<boolean> {
  const r = await engine.runLike(baseId, check, { [LABEL_PROBE]: project }, signal);
  return r.exitCode !== 0;
}

export const NO_BACKUP_FRESH = 'no backup before migrations: the database was created by this run and holds nothing yet';

/** The backup settings of the spec, or undefined when it asks for none. */
export function backupSettings(spec: NormalisedSpec): { dir: string; keep: number } | undefined {
  return spec.migrations?.backup;
}

/** Takes the pre-migration backup; returns the line to show. */
export async function takeBackup(
  docker: DockerClient,
  stack: Pick<Stack, 'project' | 'spec' | 'specDir'>,
  s: { dir: string; keep: number },
  signal?: AbortSignal,
): Promise<string> {
  const { backupDatabase } = await import('../backup/backup.js');
  const r = await backupDatabase(docker, stack, { dir: s.dir, keep: s.keep, compress: stack.spec.backups.compress, ...(signal ? { signal } : {}) });
  return `backup before migrations: ${r.file} (${r.bytes} bytes, verified)`;
}
