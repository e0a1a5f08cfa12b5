// `phase-compose backup` (and up's pre-migration backup): pg_dump -Fc inside the postgres container,
// streamed to a host file, verified with pg_restore --list, with a sha256 beside it.
import { createHash } from 'node:crypto';
import { closeSync, createWriteStream, fsyncSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import type { DockerClient } from '../docker/client.js';
import { execIn } from '../docker/exec.js';
import { findPostgres, pgDumpArgv, type PgTarget } from '../exec/postgres.js';
import type { Stack } from '../stack/open.js';
import { PhaseComposeError } from '../util/errors.js';
import { withOwnAbort } from '../util/signals.js';
import { fsyncDir, makeDirs, readSource, sourcePath, writeFileAtomic, type FileSource } from '../util/fs.js';
import { drained } from '../util/streams.js';
import { writeError } from './archive-io.js';
import { backupFileName, checksumLine, countTableData, expiredBackups } from './rotation.js';

export type BackupResult = { file: string; bytes: number; sha256: string; tables?: number };

export type BackupOptions = {
  /** Directory for stamped backups (relative: to `stack.specDir`, else the current directory). */
  dir: string;
  /** Keep this many stamped backups of the project in `dir` (older ones and their .sha256 are deleted). */
  keep?: number;
  /** Exact file to write instead of a stamped name in `dir`. */
  out?: string;
  /** Progress lines. */
  stderr?: Writable;
  now?: Date;
  /**
   * Ctrl-C or SIGTERM (its reason names the signal). Before the dump has its name it stops pg_dump, removes
   * what was written and throws `interrupted`; once it has its name the backup is finished and kept.
   */
  signal?: AbortSignal;
  /** pg_dump's zlib level (default DUMP_COMPRESSION). */
  compress?: number;
};

/** A backup given up on by a signal before it had its name: nothing is left of it. */
export function interruptedBackup(signal: AbortSignal, what: string): PhaseComposeError {
  return new PhaseComposeError('interrupted', `interrupted (${String(signal.reason ?? 'signal')}) while ${what}: pg_dump was stopped`, {
    details: ['what was written is removed; no file has the backup\'s name'],
  });
}

/** Collects a little text (stderr of pg_dump) without holding a whole stream. */
export function tail(limit = 64 * 1024): Writable & { text: () => string } {
  let buf = '';
  const w = new Writable({
    write(chunk: Buffer, _e, cb) {
      buf = (buf + chunk.toString('utf8')).slice(-limit);
      cb();
    },
  }) as Writable & { text: () => string };
  w.text = () => buf;
  return w;
}

/**
 * Streams pg_dump (`argv`) of the target into `file` (open as `fd`, which this closes) while hashing it, then
 * fsyncs it; returns bytes and sha256. A write that fails (a full disk) stops pg_dump and throws that failure.
 */
async function dumpTo(docker: DockerClient, pg: PgTarget, argv: string[], file: string, fd: number, signal?: AbortSignal): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  const out = createWriteStream(file, { fd, autoClose: false });
  let failed: Error | undefined;
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      if (failed) return cb(); // pg_dump is being stopped: what is left goes nowhere
      hash.update(chunk);
      bytes += chunk.length;
      if (out.write(chunk)) cb();
      else void drained(out).then(() => cb());
    },
  });
  const err = tail();
  const r = await withOwnAbort(signal, (own, stop) => {
    out.on('error', (e) => {
      failed ??= e;
      stop(e);
    });
    return execIn(docker, pg.containerId, argv, { stdout: sink, stderr: err, capture: false, signal: own });
  });
  await new Promise<void>((res) => sink.end(() => res()));
  try {
    if (!failed) await new Promise<void>((res) => out.end(() => res())); // after every write, or its failure
    if (!failed && !signal?.aborted) fsyncSync(fd);
  } catch (e) {
    failed ??= e as Error;
  } finally {
    closeSync(fd);
  }
  if (failed) throw writeError(file, failed, "what was written is removed; no file has the backup's name");
  if (r.exitCode !== 0) {
    throw new PhaseComposeError('failed', `pg_dump failed in the postgres container (exit ${r.exitCode})`, { details: err.text().trim().split('\n') });
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Feeds a dump file to `pg_restore --list` in the container; returns the number of tables with data. */
export async function verifyDump(docker: DockerClient, pg: PgTarget, file: FileSource, signal?: AbortSignal): Promise<number> {
  const r = await execIn(docker, pg.containerId, ['pg_restore', '--list'], { stdin: readSource(file), ...(signal ? { signal } : {}) });
  if (r.exitCode !== 0) {
    throw new PhaseComposeError('failed', `backup ${sourcePath(file)} does not read back: pg_restore --list exited ${r.exitCode}`, { details: r.stderr.trim().split('\n') });
  }
  return countTableData(r.stdout);
}

/** Dumps the stack's database to a verified, checksummed file; returns where and what. */
export async function backupDatabase(
  docker: DockerClient,
  stack: Pick<Stack, 'project' | 'spec'> & Partial<Pick<Stack, 'specDir'>>,
  opts: BackupOptions,
): Promise<BackupResult> {
  const pg = await findPostgres(docker, stack);
  const dumpArgv = pgDumpArgv(pg, opts.compress);
  const base = stack.specDir ?? process.cwd();
  const dir = resolve(base, opts.dir);
  const file = opts.out ? resolve(base, opts.out) : join(dir, backupFileName(stack.project, opts.now ?? new Date()));
  // Dumps hold every secret in the database: their directory is private whatever the umask.
  makeDirs(dirname(file), 0o700);
  const partial = `${file}.partial`;
  opts.stderr?.write(`backup: pg_dump -Fc -Z ${dumpArgv.at(-1)} ${pg.db} -> ${file}\n`);
  let result: BackupResult;
  const { signal } = opts;
  // A new file: one of that name (a leftover, or anyone's) is refused, never overwritten or removed.
  let fd: number;
  try {
    fd = openSync(partial, 'wx', 0o600);
  } catch (e) {
    throw writeError(partial, e, (e as NodeJS.ErrnoException).code === 'EEXIST' ? 'remove it if it is left from an interrupted backup; nothing was changed' : 'nothing was changed');
  }
  try {
    const { bytes, sha256 } = await dumpTo(docker, pg, dumpArgv, partial, fd, signal);
    const tables = signal?.aborted ? 0 : await verifyDump(docker, pg, partial, signal);
    signal?.throwIfAborted(); // made the interrupted error below
    renameSync(partial, file);
    fsyncDir(dirname(file)); // the name too survives a crash, as the archive's does
    result = { file, bytes, sha256, tables };
  } catch (e) {
    rmSync(partial, { force: true });
    throw signal?.aborted ? interruptedBackup(signal, 'the database was dumped') : e;
  }
  writeFileAtomic(`${file}.sha256`, checksumLine(result.sha256, basename(file)));
  opts.stderr?.write(`backup: ${result.bytes} bytes, ${result.tables} tables with data, sha256 ${result.sha256}\n`);
  if (!opts.out && opts.keep !== undefined) {
    for (const old of expiredBackups(readdirSync(dir), stack.project, opts.keep, '.dump', basename(file))) {
      rmSync(join(dir, old), { force: true });
      rmSync(join(dir, `${old}.sha256`), { force: true });
      opts.stderr?.write(`backup: removed old backup ${old} (keeping ${opts.keep})\n`);
    }
  }
  return result;
}
