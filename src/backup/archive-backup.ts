// `phase-compose backup`: the whole instance in one archive. The dump streams from pg_dump in the postgres
// container through the tar and the encryption into a temp file. It is read back (decrypted, every
// checksum, pg_restore --list on the dump's table of contents) as it is written, and the file must hold
// exactly the bytes read, before older archives are rotated away.
import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import type { DockerClient } from '../docker/client.js';
import { execIn } from '../docker/exec.js';
import { findPostgres, pgDumpArgv, type PgTarget } from '../exec/postgres.js';
import { parseEnvFile } from '../init/env-file.js';
import { specEnvFiles } from '../spec/env-files.js';
import type { Stack } from '../stack/open.js';
import { renderStackFiles } from '../stack/outputs.js';
import { PhaseComposeError } from '../util/errors.js';
import { withOwnAbort } from '../util/signals.js';
import { makeDirs, readStackFile } from '../util/fs.js';
import { inside } from '../util/generated-files.js';
import { ARCHIVE_EXT, FORMAT, META_MEMBER, STACK_PREFIX, pickEnv, safeRelativePath, type BackupMeta } from './archive.js';
import { openArchiveWriter } from './archive-io.js';
import { interruptedBackup, tail } from './backup.js';
import { projectImages, snapshotFacts } from './instance.js';
import { backupFileName, countTableData, expiredBackups } from './rotation.js';

export type ArchiveOptions = {
  /** Exact file to write; else a stamped name in `dir` (relative paths: to the spec's directory). */
  out?: string;
  dir: string;
  keep: number;
  /** Undefined: not encrypted (--no-encrypt). */
  passphrase?: string;
  log?: (line: string) => void;
  now?: Date;
  /** Ctrl-C or SIGTERM: as BackupOptions.signal (before the archive has its name: stopped, nothing left). */
  signal?: AbortSignal;
  /** pg_dump's zlib level (default DUMP_COMPRESSION). */
  compress?: number;
};

export type ArchiveResult = { file: string; bytes: number; dumpBytes: number; tables: number; encrypted: boolean; removed: string[] };

type StackSource = Pick<Stack, 'project' | 'spec' | 'specFile' | 'specDir'>;

/** A path of the stack as it is stored under stack/: relative to the spec's directory, never outside it. */
function inStack(s: StackSource, path: string, what: string): string {
  const rel = relative(s.specDir, resolve(s.specDir, path)).split(sep).join('/');
  if (rel.startsWith('..')) throw new PhaseComposeError('problem', `${what} ${path} is outside the spec's directory: the archive keeps only files beside the spec`);
  return safeRelativePath(rel);
}

/** A file the archive cannot do without (the spec): its bytes, or a problem saying it is gone. */
function mustRead(path: string, what: string): Buffer {
  const b = readStackFile(path);
  if (b === undefined) throw new PhaseComposeError('problem', `${what} ${path} is missing`);
  return b;
}

/** The spec, the env files (whole, or backups.env's keys only) and the generated files, as archive members. Reads only. */
export function stackMembers(s: StackSource): { files: Array<[string, Buffer]>; env: BackupMeta['env']; generated: string[]; spec: string; tls?: NonNullable<BackupMeta['tls']> } {
  const spec = inStack(s, s.specFile, 'the spec');
  const files: Array<[string, Buffer]> = [[spec, mustRead(s.specFile, 'the spec')]];
  const keys = s.spec.backups.env;
  const envFiles = [...new Set(specEnvFiles(s.spec).map((f) => inStack(s, f, 'env file')))];
  const found = new Set<string>();
  for (const f of envFiles) {
    const path = join(s.specDir, f);
    const text = readStackFile(path);
    if (text === undefined) throw new PhaseComposeError('problem', `the env file ${f} is missing: the archive would not bring the app back without it`);
    if (!keys) {
      files.push([f, text]);
      continue;
    }
    const values = parseEnvFile(text.toString('utf8'));
    for (const k of keys) if (values[k] !== undefined) found.add(k);
    files.push([f, Buffer.from(pickEnv(text.toString('utf8'), keys.filter((k) => values[k] !== undefined)))]);
  }
  const missing = (keys ?? []).filter((k) => !found.has(k));
  if (missing.length) {
    throw new PhaseComposeError('problem', `backups.env lists keys that no env file defines: ${missing.join(', ')}`, { details: ['an archive without them could not decrypt the app\'s data'] });
  }
  const generated: string[] = [];
  for (const g of renderStackFiles(s).files) {
    const rel = relative(s.specDir, g.path).split(sep).join('/');
    if (rel.startsWith('..')) continue; // written outside the spec's directory: `up` renders it again from the spec
    const body = readStackFile(g.path);
    if (body === undefined) continue;
    generated.push(safeRelativePath(rel));
    files.push([rel, body]);
  }
  // The proxy's certificate and key: the stack does not start without them (nginx reads both). Until
  // 2026-11-29 neither travelled, and `restore --dir` of a stack `init` made (TLS by default) restored
  // the data, then failed to start nginx.
  const tls = s.spec.proxy?.tls;
  const tlsMembers: NonNullable<BackupMeta['tls']> | undefined = tls ? { files: [], secret: [], outside: [] } : undefined;
  for (const [path, secret] of tls ? ([[tls.cert, false], [tls.key, true]] as const) : []) {
    const abs = resolve(s.specDir, path);
    // An absolute path stays as the spec names it (the restored spec names it too), and is not archived.
    if (isAbsolute(path) || !inside(s.specDir, abs)) {
      tlsMembers!.outside.push(abs);
      continue;
    }
    const name = safeRelativePath(relative(s.specDir, abs).split(sep).join('/'));
    if (files.some(([f]) => f === name)) continue;
    // A file this user cannot read (a root-only key, a link into /etc/letsencrypt) is said and left out:
    // it never failed a backup before these files travelled, and must not now.
    let body: Buffer | undefined;
    try {
      body = readStackFile(join(s.specDir, name));
    } catch {
      body = undefined;
    }
    if (body === undefined) {
      tlsMembers!.outside.push(abs);
      continue;
    }
    files.push([name, body]);
    tlsMembers!.files.push(name);
    if (secret) tlsMembers!.secret.push(name);
  }
  return { files, env: { files: envFiles, ...(keys ? { keys } : {}) }, generated, spec, ...(tlsMembers ? { tls: tlsMembers } : {}) };
}

/** Streams pg_dump (`argv`, from pgDumpArgv) from the container into `sink`; throws when pg_dump fails. */
export async function streamDump(docker: DockerClient, pg: PgTarget, argv: string[], sink: Writable, signal?: AbortSignal): Promise<void> {
  const err = tail();
  const r = await execIn(docker, pg.containerId, argv, { stdout: sink, stderr: err, capture: false, ...(signal ? { signal } : {}) });
  if (r.exitCode !== 0) throw new PhaseComposeError('failed', `pg_dump failed in the postgres container (exit ${r.exitCode})`, { details: err.text().trim().split('\n') });
  // A sink that failed (the disk filled up) is not ended: the writer reports its error.
  if (!sink.destroyed) await new Promise<void>((res) => sink.end(() => res()));
}

/** pg_restore --list fed a dump chunk by chunk: `listed` is the tables with data. */
export type DumpLister = {
  /**
   * The next chunk of the dump; dropped once pg_restore has exited (it reads only the table of contents).
   * Resolves false once it has exited: no chunk is needed any more.
   */
  feed(chunk: Buffer): Promise<boolean>;
  /** No more chunks: a table of contents cut short then fails the listing. */
  end(): void;
  listed: Promise<number>;
};

/**
 * Starts `pg_restore --list` in `pg`'s container, to be fed the dump as it is read. pg_dump -Fc writes its
 * table of contents first, and pg_restore exits once it has read it, whatever its size: a first chunk
 * alone (until 2026-11-28) failed on a table of contents longer than a chunk, "could not read from input
 * file: end of file", so such a database could not be backed up at all.
 */
export function dumpLister(docker: DockerClient, pg: Pick<PgTarget, 'containerId'>, file: string): DumpLister {
  const stdin = new PassThrough({ highWaterMark: 1 << 20 });
  let ended = false;
  const run = execIn(docker, pg.containerId, ['pg_restore', '--list'], { stdin }).finally(() => {
    ended = true;
    stdin.emit('drain'); // a feed waiting for room goes on (its chunk is dropped)
  });
  const listed = run.then((r) => {
    if (r.exitCode !== 0) {
      throw new PhaseComposeError('problem', `the database dump in ${file} does not read back: pg_restore --list exited ${r.exitCode}`, { details: [...r.stderr.trim().split('\n'), 'nothing was changed'] });
    }
    return countTableData(r.stdout);
  });
  listed.catch(() => undefined); // awaited by the caller, after its own read's failure
  return {
    async feed(chunk) {
      if (ended || stdin.writableEnded) return false;
      if (!stdin.write(chunk)) await new Promise<void>((res) => stdin.once('drain', () => res()));
      return !ended;
    },
    end() {
      if (!stdin.writableEnded) stdin.end();
    },
    listed,
  };
}

/** Writes the archive, reads it back, rotates; returns where and what. */
export async function backupInstance(docker: DockerClient, stack: StackSource, opts: ArchiveOptions): Promise<ArchiveResult> {
  const log = opts.log ?? (() => {});
  const members = stackMembers(stack);
  const pg = await findPostgres(docker, stack);
  const dumpArgv = pgDumpArgv(pg, opts.compress);
  const now = opts.now ?? new Date();
  const dir = resolve(stack.specDir, opts.dir);
  const file = opts.out ? resolve(stack.specDir, opts.out) : join(dir, backupFileName(stack.project, now, ARCHIVE_EXT));
  // Archives hold every secret of the instance: their directory is private whatever the umask.
  makeDirs(dirname(file), 0o700);
  log(`backup: pg_dump -Fc -Z ${dumpArgv.at(-1)} ${pg.db} -> ${file}${opts.passphrase === undefined ? ' (NOT encrypted: --no-encrypt)' : ' (encrypted)'}`);
  for (const p of members.tls?.outside ?? []) log(`backup: warning: ${p} (proxy.tls) is not in the archive (an absolute path, outside the spec's directory, or not readable here): a restore on another host needs it there first`);
  // Side by side: the archive's temp file (and the passphrase's key), the facts, the images. When the facts or
  // the images fail, the writer is given up once it is open, so its temp file goes too.
  // The facts are read in the snapshot pg_dump then dumps, held open until the dump ends.
  const opening = openArchiveWriter(file, { passphrase: opts.passphrase });
  const holding = snapshotFacts(docker, pg);
  const [w, facts, images] = await Promise.all([opening, holding, projectImages(docker, stack.project)]).catch(async (e: unknown) => {
    await opening.then((o) => o.abort(e as Error), () => undefined);
    await holding.then((h) => h.release(), () => undefined);
    throw e;
  });
  const { version, migrations } = facts;
  const meta: BackupMeta = {
    format: FORMAT,
    created: now.toISOString(),
    project: stack.project,
    spec: members.spec,
    env: members.env,
    generated: members.generated,
    ...(members.tls ? { tls: members.tls } : {}),
    postgres: { version, database: pg.db },
    images,
    migrations,
  };
  const mig = stack.spec.migrations;
  const appImage = meta.images.find((i) => i.service === (mig?.same_image_as ?? Object.keys(stack.spec.services)[0]));
  if (appImage?.version) meta.appVersion = appImage.version;

  // pg_restore --list reads the dump's table of contents as the chunks go into the archive, while the rest
  // still streams (awaited with the read-back below; a failed dump reports itself first).
  let lister: DumpLister | undefined;
  w.onDumpChunk(async (chunk) => void (await (lister ??= dumpLister(docker, pg, file)).feed(chunk)));
  let written: { bytes: number };
  try {
    await w.add(META_MEMBER, `${JSON.stringify(meta, null, 2)}\n`);
    for (const [name, body] of members.files) await w.add(`${STACK_PREFIX}${name}`, body);
    // pg_dump is stopped when the file cannot be written (a full disk), instead of dumping on into nothing.
    await withOwnAbort(opts.signal, (signal, stop) => {
      w.dump.once('error', () => stop(new Error('the archive could not be written')));
      return streamDump(docker, pg, pgDumpArgv(pg, opts.compress, facts.snapshot), w.dump, signal);
    });
    opts.signal?.throwIfAborted(); // made the interrupted error below
    written = await w.finish();
  } catch (e) {
    const stopped = opts.signal?.aborted ? interruptedBackup(opts.signal, 'the archive was written') : (w.writeFailure() ?? e);
    await w.abort(stopped as Error);
    throw stopped;
  } finally {
    lister?.end();
    await facts.release(); // the dump has its snapshot (or failed)
  }
  const listed = lister?.listed ?? Promise.resolve(0);
  // The read-back, as a restore will read the archive (with the session key: the passphrase was just used):
  // made while the archive was written, then the file's bytes compared with what it checked.
  let tables: number;
  let dumpBytes: number;
  try {
    const [back, n] = await Promise.all([w.readBack(), listed]);
    dumpBytes = back.manifest.dump.bytes;
    tables = n;
  } catch (e) {
    rmSync(file, { force: true });
    throw new PhaseComposeError('failed', `the archive did not read back and was removed: ${(e as Error).message}`, { details: (e as PhaseComposeError).details ?? [] });
  }
  log(`backup: ${written.bytes} bytes (dump ${dumpBytes} bytes, ${tables} tables with data), every checksum read back`);
  const removed: string[] = [];
  if (!opts.out) {
    for (const old of expiredBackups(readdirSync(dir), stack.project, opts.keep, ARCHIVE_EXT, basename(file))) {
      rmSync(join(dir, old), { force: true });
      removed.push(old);
      log(`backup: removed old archive ${old} (keeping ${opts.keep})`);
    }
  }
  return { file, bytes: written.bytes, dumpBytes, tables, encrypted: opts.passphrase !== undefined, removed };
}
