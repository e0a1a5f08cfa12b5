// `phase-compose backup [--out FILE]`: a verified, checksummed pg_dump of the stack's database.
import { backupDatabase } from '../../backup/backup.js';
import { connectDocker } from '../../docker/client.js';
import { lstatSync } from 'node:fs';
import { resolve } from 'node:path';
import { PhaseComposeError } from '../../util/errors.js';
import { displayPath } from '../../util/fs.js';
import { openStack } from '../../stack/open.js';
import { DEFAULT_BACKUP_DIR, type NormalisedSpec } from '../../spec/normalise.js';
import type { Io } from '../io.js';
import { OK, type Outcome } from '../outcome.js';

/** Writes the backup; prints its path, size and checksum. */
export async function runBackup(args: { file: string; projectName?: string; out?: string; dir?: string; keep?: number }, io: Io): Promise<Outcome> {
  const stack = openStack(args);
  if (args.out !== undefined) refuseExisting(resolve(stack.specDir, args.out));
  const docker = await connectDocker();
  const res = await backupDatabase(docker, stack, {
    ...backupPlace(args, stack.spec),
    out: args.out,
    stderr: process.stderr,
  });
  io.out(`${res.file}\t${res.bytes} bytes\t${res.tables} tables\tsha256 ${res.sha256}`);
  return OK;
}

/**
 * Where stamped backups go and how many are kept: the flags win; else the spec's migrations.backup (its
 * keep filled with 5 by normaliseSpec, the same rule as before migrations in `up`); else ./backups, all kept.
 */
export function backupPlace(args: { dir?: string; keep?: number }, spec: Pick<NormalisedSpec, 'migrations'>): { dir: string; keep?: number } {
  const conf = spec.migrations?.backup;
  return { dir: args.dir ?? conf?.dir ?? DEFAULT_BACKUP_DIR, keep: args.keep ?? conf?.keep };
}

/** `--out` names a new file: one that exists (a dump or anything else) is never replaced. Checked before Docker. */
function refuseExisting(path: string): void {
  try {
    lstatSync(path);
  } catch {
    return;
  }
  throw new PhaseComposeError('problem', `refusing to overwrite ${displayPath(path)}`, { details: ['choose another --out, or move the file away first'] });
}
