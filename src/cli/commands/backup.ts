// `phase-compose backup [--out FILE]`: a verified, checksummed pg_dump of the stack's database.
import { backupDatabase } from '../../backup/backup.js';
import { connectDocker } from '../../docker/client.js';
import { ExitCode } from '../../util/errors.js';
import { loadStack } from '../context.js';
import type { Io } from '../io.js';

/** Writes the backup; prints its path, size and checksum. */
export async function runBackup(args: { file: string; projectName?: string; out?: string; dir?: string; keep?: number }, io: Io): Promise<number> {
  const stack = loadStack(args);
  const docker = await connectDocker();
  const conf = typeof stack.spec.migrations?.backup === 'object' ? stack.spec.migrations.backup : {};
  const res = await backupDatabase(docker, stack, {
    dir: args.dir ?? conf.dir ?? 'backups',
    keep: args.keep ?? conf.keep,
    out: args.out,
    stderr: process.stderr,
  });
  io.out(`${res.file}\t${res.bytes} bytes\t${res.tables} tables\tsha256 ${res.sha256}`);
  return ExitCode.ok;
}
