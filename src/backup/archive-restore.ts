// Reading an archive back into PostgreSQL: `backup verify` (checksums, pg_restore --list, --deep: a full
// restore into a throwaway container with row counts), `restore FILE` into the running stack and the
// database half of `restore FILE --dir DIR`. Every path reads the archive twice: the first read checks
// everything (passphrase, every checksum, the dump's table of contents) before anything is changed;
// the second streams the dump into pg_restore, each chunk checked against the first read's manifest.
import { existsSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { DockerClient } from '../docker/client.js';
import { listProject } from '../docker/containers.js';
import type { ExecResult } from '../docker/exec.js';
import { L_SERVICE } from '../docker/labels.js';
import { findPostgres, runSql, type PgTarget } from '../exec/postgres.js';
import { POSTGRES_SERVICE } from '../model/compose.js';
import type { Stack } from '../stack/open.js';
import { parseEnvFile } from '../init/env-file.js';
import { PhaseComposeError } from '../util/errors.js';
import { abortOnInterrupt } from '../util/signals.js';
import { TEXT_FILE_MAX_BYTES, fileKind, makeDirs, readOnDisk, readStackText, sourcePath, sourceSize, writeFileAtomic, type FileSource } from '../util/fs.js';
import { specEnvFiles } from '../spec/env-files.js';
import { GENERATED_MARK, inside } from '../util/generated-files.js';
import { newerDatabaseError, newestMigrations, safeRelativePath, unknownMigrations } from './archive.js';
import { readArchive, writeError, type ArchiveContents } from './archive-io.js';
import { dumpLister, type DumpLister } from './archive-backup.js';
import { appliedMigrations, rowCounts } from './instance.js';
import { appContainers, confirmedRestore, feedExec, pgRestoreArgv, startWaves, wipedRestore, type DumpProducer } from './restore.js';
import { interruptedScratch, startScratchPostgres } from './scratch.js';

export type Checked = ArchiveContents & { tables: number };

/**
 * The first read: passphrase, every checksum, and pg_restore --list of the dump's table of contents in `pg`
 * (fed the dump from its first chunk on, while the rest is read; a failed read reports itself first).
 */
export async function checkArchive(docker: DockerClient, pg: Pick<PgTarget, 'containerId'>, file: FileSource, passphrase: () => Promise<string>, signal?: AbortSignal): Promise<Checked> {
  let lister: DumpLister | undefined;
  let c: ArchiveContents;
  try {
    c = await readArchive(file, {
      passphrase,
      ...(signal ? { signal } : {}),
      dump: async (chunk) => void (await (lister ??= dumpLister(docker, pg, sourcePath(file))).feed(chunk)),
    });
  } finally {
    lister?.end();
  }
  if (!lister) throw new PhaseComposeError('problem', `the archive ${sourcePath(file)} holds no database dump`, { details: ['nothing was changed'] });
  return { ...c, tables: await lister.listed };
}

/**
 * pg_restore --list of the dump in an archive already checked (`c`, by a first read made before `pg` was
 * there: restore --dir), read again, each chunk against `c`'s manifest, only as far as pg_restore reads:
 * its table of contents, at the start of the dump (one chunk, unless the schema is very large).
 */
export async function listCheckedDump(docker: DockerClient, pg: Pick<PgTarget, 'containerId'>, file: FileSource, c: ArchiveContents, passphrase: () => Promise<string>): Promise<number> {
  const lister = dumpLister(docker, pg, sourcePath(file));
  const enough = new PhaseComposeError('problem', 'pg_restore --list has read the table of contents');
  try {
    await readArchive(file, {
      passphrase,
      ...(c.sessionKey ? { sessionKey: c.sessionKey } : {}),
      expect: c.manifest,
      dump: async (chunk) => {
        if (!(await lister.feed(chunk))) throw enough;
      },
    });
  } catch (e) {
    if (e !== enough) throw e;
  } finally {
    lister.end();
  }
  return lister.listed;
}

/**
 * The second read: streams the dump (each chunk checked against `checked.manifest`) into `argv` run in
 * `pg`'s container. When the archive fails midway, pg_restore is fed bytes no dump holds so that it
 * fails too and its transaction rolls back; the archive's error is thrown. When the command fails first,
 * its result is returned as when it fails at the end: its exit code and stderr are the report.
 */
export async function pipeDump(docker: DockerClient, pg: Pick<PgTarget, 'containerId'>, file: FileSource, checked: Checked, passphrase: () => Promise<string>, argv: string[]): Promise<ExecResult> {
  return feedExec(docker, pg, argv, checkedDump(file, checked, passphrase));
}

/** The second read of the archive as a DumpProducer: the dump, each chunk checked against `checked.manifest`. */
const checkedDump = (file: FileSource, checked: Checked, passphrase: () => Promise<string>): DumpProducer => async (write) => {
  await readArchive(file, {
    passphrase,
    ...(checked.sessionKey ? { sessionKey: checked.sessionKey } : {}),
    expect: checked.manifest,
    dump: write,
  });
};

/** Given up on by Ctrl-C or SIGTERM during the first read of the archive: `nothing` says what was not done. */
export const interruptedRead = (signal: AbortSignal, nothing = 'nothing was started; nothing was changed') =>
  new PhaseComposeError('interrupted', `interrupted (${String(signal.reason ?? 'signal')}) while the archive was read`, { details: [nothing] });

/**
 * Runs `read` (a first read of the archive) with Ctrl-C and SIGTERM turned into its abort signal, so that
 * either stops it at once with `interrupted` (before, they killed the process with no word of its own).
 * The listeners go when it ends: what follows (a prompt, the app's stop) handles signals its own way.
 */
export async function interruptibleRead<T>(read: (signal: AbortSignal) => Promise<T>, nothing: string): Promise<T> {
  const { result } = await abortOnInterrupt(async (signal) => {
    try {
      return await read(signal);
    } catch (e) {
      throw signal.aborted ? interruptedRead(signal, nothing) : e;
    }
  });
  return result;
}

/**
 * Image for a throwaway server: `given` (`--image`) when given, else the archived postgres image by ID
 * when it is here, else by name. Until 2026-11-29 `--image` was used only when the archived ID was not
 * here: `--deep --image postgres:17`, to try a restore into the next major version, ran the old one.
 */
export async function scratchImage(docker: Pick<DockerClient, 'getImage'>, c: Pick<ArchiveContents, 'meta'>, given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  const id = c.meta.images.find((i) => i.service === POSTGRES_SERVICE)?.id;
  if (id && (await docker.getImage(id).inspect().then(() => true, () => false))) return id;
  const name = c.meta.images.find((i) => i.service === POSTGRES_SERVICE)?.image;
  if (!name) throw new PhaseComposeError('usage', 'no PostgreSQL image to verify with: pass --image');
  return name;
}

export type VerifyResult = { checked: Checked; counts?: Array<[string, number]>; image: string };

/**
 * `backup verify`: checks in a throwaway PostgreSQL container; `deep` restores there and counts rows.
 * The container holds a copy of the data, so it goes whatever happens: on Ctrl-C or SIGTERM (`signal`) at
 * once (what runs in it then fails), and the error is `interrupted`.
 */
export async function verifyArchive(
  docker: DockerClient,
  file: FileSource,
  opts: { passphrase: () => Promise<string>; deep: boolean; image?: string; log?: (l: string) => void; signal?: AbortSignal },
): Promise<VerifyResult> {
  const log = opts.log ?? (() => {});
  const { signal } = opts;
  // The first read needs no server: run it before one is started, so a wrong passphrase fails at once.
  // Ctrl-C stops it at once (a large archive takes minutes to read), with nothing started.
  const first = await readArchive(file, { passphrase: opts.passphrase, ...(signal ? { signal } : {}) }).catch((e: unknown) => {
    throw signal?.aborted ? interruptedRead(signal) : e;
  });
  const image = await scratchImage(docker, first, opts.image);
  if (signal?.aborted) throw interruptedRead(signal); // no container yet
  log(`verify: checksums ok; starting a throwaway PostgreSQL container (${image})`);
  const scratch = await startScratchPostgres(docker, image, undefined, signal);
  const removeNow = () => void scratch.remove();
  signal?.addEventListener('abort', removeNow, { once: true });
  try {
    const checked = await checkArchive(docker, scratch.pg, file, opts.passphrase, signal);
    if (!opts.deep) return { checked, image };
    log('verify: restoring into the throwaway container');
    const r = await pipeDump(docker, scratch.pg, file, checked, opts.passphrase, restoreArgv(scratch.pg));
    if (r.exitCode !== 0) throw new PhaseComposeError('failed', `pg_restore into the throwaway container failed (exit ${r.exitCode})`, { details: r.stderr.trim().split('\n').slice(-10) });
    return { checked, image, counts: await rowCounts(docker, scratch.pg) };
  } catch (e) {
    throw signal?.aborted ? interruptedScratch(signal) : e;
  } finally {
    signal?.removeEventListener('abort', removeNow);
    await scratch.remove();
  }
}

/** pg_restore into an empty database: all or nothing. */
export const restoreArgv = (pg: Pick<PgTarget, 'user' | 'db'>): string[] =>
  ['pg_restore', '-U', pg.user, '-d', pg.db, '--no-owner', '--single-transaction', '--exit-on-error'];

export type RestoreArchiveResult = { tables: number; stopped: string[]; archived: string[] };

/**
 * The keys of an archived env that the app may read its data with: those `backups.env` lists, else every
 * key whose name holds SECRET or KEY (Phase: SECRET_KEY, SERVER_SECRET). Another value for the rest (the
 * version `upgrade` writes, HOST, a database password: roles are not in a dump) does not make restored
 * data unreadable, and is not compared. Pure.
 */
export function dataKeys(env: Record<string, string>, listed: readonly string[] | undefined): Record<string, string> {
  const keep = (k: string) => (listed ? listed.includes(k) : /SECRET|KEY/i.test(k));
  return Object.fromEntries(Object.entries(env).filter(([k]) => keep(k)));
}

/** The env files of the archive, merged in their order (later files win, as in Compose). */
function archivedEnv(c: Pick<ArchiveContents, 'meta' | 'files'>): Record<string, string> {
  return Object.assign({}, ...c.meta.env.files.map((f) => parseEnvFile(c.files.get(f)?.toString('utf8') ?? '')));
}

/** The stack's env files as they are on disk, merged in the spec's order; a missing one holds nothing. */
function liveEnv(stack: Pick<Stack, 'spec' | 'specDir'>): Record<string, string> {
  // Each file once, by where it is (as the archive lists them): `.env` and `./.env` are one file.
  const files = [...new Set(specEnvFiles(stack.spec).map((f) => resolve(stack.specDir, f)))];
  return Object.assign({}, ...files.map((f) => parseEnvFile(readStackText(f) ?? '')));
}

/**
 * `restore FILE` into the running stack: the archive is checked, the live database compared (a migration
 * the archive does not know refuses unless `force`), the user asked; only then are the app services
 * stopped, the dump restored in one transaction, and they are started again.
 */
export async function restoreArchiveLive(
  docker: DockerClient,
  stack: Pick<Stack, 'project' | 'spec' | 'specDir'>,
  source: FileSource,
  opts: { passphrase: () => Promise<string>; force: boolean; ignoreEnv?: boolean; confirm: (q: string) => Promise<boolean>; log?: (l: string) => void; beforeStop?: () => void },
): Promise<RestoreArchiveResult> {
  const log = opts.log ?? (() => {});
  const file = sourcePath(source);
  const pg = await findPostgres(docker, stack);
  // What the live stack holds is only read: it is asked while the archive is checked (the archive's own
  // failure is still the one reported first).
  const applied = appliedMigrations(docker, pg);
  const running = listProject(docker, stack.project);
  applied.catch(() => undefined);
  running.catch(() => undefined);
  // The line is printed once Ctrl-C is handled (inside interruptibleRead): one that follows it is never the default kill.
  const checked = await interruptibleRead((signal) => {
    log(`restore: checking ${file} (${sourceSize(source)} bytes): the passphrase, every checksum, the dump's table of contents`);
    return checkArchive(docker, pg, source, opts.passphrase, signal);
  }, 'nothing was changed; the app was not stopped');
  log(`restore: archive ok: made ${checked.meta.created} from project ${checked.meta.project}, every checksum matches`);
  const unknown = unknownMigrations(await applied, checked.meta.migrations);
  if (unknown.length && !opts.force) throw newerDatabaseError(unknown);
  if (unknown.length) log(`restore: --force: the live database has ${unknown.length} migrations the archive does not know: its tables, views, sequences, routines, types, schemas and more are dropped before the archive's are restored (in the same transaction)`);
  // The app reads its data with keys from its env (Phase: SECRET_KEY, SERVER_SECRET): data restored
  // beside other values is data it cannot read. Until 2026-11-29 this was never compared, and a restore
  // into a stack made anew (fresh secrets) exited 0 with the app unable to decrypt anything.
  const envDiff = envMapDifference(liveEnv(stack), dataKeys(archivedEnv(checked), checked.meta.env.keys));
  // Its own flag: --force (an archive older than the database) lifted it too until 2026-11-29, so a user
  // restoring an older archive on purpose was not told that the app could not read it either.
  if (envDiff.length && !opts.ignoreEnv) {
    throw new PhaseComposeError('problem', `the stack's env files differ from the archive's in keys the app may read its data with: ${envDiff.join('; ')}`, {
      details: [
        'the app reads its data with keys from its env (Phase: SECRET_KEY and SERVER_SECRET): restored beside other values, it may not read it',
        'put the archive\'s values into the env file (`restore FILE --dir DIR` writes them into a new stack), or pass --ignore-env if the differing keys hold no such key (--force does not lift this); nothing was changed',
      ],
    });
  }
  if (envDiff.length) log(`restore: --ignore-env: the stack's env files differ from the archive's: ${envDiff.join('; ')}`);
  const waves = startWaves(stack.spec, appContainers(await running));
  const names = [...new Set(waves.flat().map((c) => c.Labels[L_SERVICE] ?? c.Id.slice(0, 12)))];
  const question =
    `Restore ${file} (${checked.tables} tables with data, made ${checked.meta.created}) into database "${pg.db}" of project "${stack.project}"? This replaces the current data` +
    (names.length ? ` and stops ${names.join(', ')} meanwhile.` : '.') +
    (unknown.length ? ` The database is newer than the archive (--force): every table, routine, type or schema not in the archive goes too.` : '');
  await confirmedRestore(docker, pg, waves, { ...opts, log }, question, async () => {
    if (unknown.length) {
      // pg_restore --clean would leave what the newer migrations made (and fail on a table that refers to an archived one).
      log(`restore: pg_restore | psql: the tables, views, routines, types and schemas of ${pg.db} dropped, then the archive's restored, in one transaction (--force over a newer database)`);
      return wipedRestore(docker, pg, checkedDump(source, checked, opts.passphrase));
    }
    log(`restore: pg_restore --clean --if-exists --single-transaction into ${pg.db}`);
    const r = await pipeDump(docker, pg, source, checked, opts.passphrase, pgRestoreArgv(pg.user, pg.db));
    if (r.exitCode !== 0) {
      throw new PhaseComposeError('failed', `pg_restore failed (exit ${r.exitCode}); the transaction was rolled back, the database is as before`, { details: r.stderr.trim().split('\n').slice(-10) });
    }
  });
  return { tables: checked.tables, stopped: names, archived: newestMigrations(checked.meta.migrations) };
}

/**
 * The files `restore --dir` writes from the archive: spec, env files (0600) and generated files. Every
 * path is checked, and nothing is written when any of them exists with other bytes (a file with the
 * archive's very bytes is left as it is, so a restore that failed later can run again). Returns the paths written.
 */
export function writeStackFromArchive(dir: string, c: ArchiveContents, markProject?: string): { written: string[]; kept: string[] } {
  const env = new Set(c.meta.env.files);
  const secret = new Set(c.meta.tls?.secret ?? []); // the proxy's TLS key
  const generated = new Set(c.meta.generated);
  const plan = [...c.files.entries()].map(([name, body]) => ({ path: join(dir, safeRelativePath(name)), body, env: env.has(name), generated: generated.has(name), mode: env.has(name) || secret.has(name) ? 0o600 : 0o644 }));
  // With `markProject`, the restore's mark (readRestoreMark) is one of the files: written with them, or
  // not at all. One for this project already there (an earlier run's, maybe naming its volumes) stays.
  if (markProject !== undefined && !readRestoreMark(dir, markProject)) {
    plan.push({ path: join(dir, RESTORE_MARK_FILE), body: markBytes({ project: markProject, volumes: {} }), env: false, generated: false, mode: 0o600 });
  }
  if (!c.files.has(c.meta.spec)) throw new PhaseComposeError('problem', `the archive lacks its spec stack/${c.meta.spec}`, { details: ['nothing was written'] });
  // One read per path: missing (to write), the archive's very bytes (left alone), or anything else (refused).
  const onDisk = plan.map((p) => ({ ...p, d: readOnDisk(p.path, TEXT_FILE_MAX_BYTES, { noFollow: true }) }));
  const pending = onDisk.filter((p) => !(p.d.kind === 'file' && p.d.data.equals(p.body)));
  // With backups.env the archive holds only those keys of an env file: one the user wrote into DIR first
  // (the rest of the app's settings) is kept when it defines each of them as the archive does.
  const partial = c.meta.env.keys !== undefined;
  const envOf = (p: (typeof onDisk)[number]) => (partial && p.env && p.d.kind === 'file' ? envDifference(p.d.data, p.body) : undefined);
  const kept = pending.filter((p) => envOf(p)?.length === 0);
  const todo = pending.filter((p) => !kept.includes(p));
  // A generated file that phase-compose wrote there (its header) may be written again: an earlier run
  // of this restore wrote it, and then rendered it anew from the spec before it failed (until 2026-11-29
  // such a run again was refused over it, though the error said to run it again).
  const ours = (p: (typeof onDisk)[number]) => p.generated && p.d.kind === 'file' && p.d.data.subarray(0, GENERATED_MARK.length).toString('utf8') === GENERATED_MARK;
  const exist = todo.filter((p) => p.d.kind !== 'missing' && !ours(p));
  if (exist.length) {
    const what = (p: (typeof onDisk)[number]) => (p.d.kind === 'odd' ? ` (${p.d.why})` : envOf(p) ? `: ${envOf(p)!.join('; ')} (the restored data needs the archive's values)` : '');
    throw new PhaseComposeError('problem', `refusing to overwrite files in ${dir}`, {
      details: [
        ...exist.map((p) => `exists: ${p.path}${what(p)}`),
        partial
          ? 'restore --dir builds a new stack: name an empty or new directory, where an env file you put first must define the archived keys as the archive does; nothing was written'
          : 'restore --dir builds a new stack: name an empty or new directory; nothing was written',
      ],
    });
  }
  // The directories this run makes (the stack's, and any a file of it sits in), outermost first.
  const made = missingDirs(dir);
  makeDirs(dir, 0o700);
  const written: string[] = [];
  for (const p of todo) {
    try {
      made.push(...missingDirs(dirname(p.path)));
      makeDirs(dirname(p.path), 0o755);
      writeFileAtomic(p.path, p.body, p.mode);
    } catch (e) {
      // A full disk (or any failed write): the files and directories this run made go again, so
      // nothing is half-written.
      for (const w of written) rmSync(w, { force: true });
      for (const d of made.reverse()) rmdirQuietly(d);
      throw writeError(p.path, e, `the ${written.length} file(s) this restore had written were removed; nothing else was changed`);
    }
    written.push(p.path);
  }
  return { written, kept: kept.map((p) => p.path) };
}

/**
 * How the env file `have` differs from the archived one `want` on the archived keys (names only, never
 * values): the keys it lacks, and those it defines otherwise. Empty: it holds them all. Pure.
 */
export function envDifference(have: Buffer, want: Buffer): string[] {
  return envMapDifference(parseEnvFile(have.toString('utf8')), parseEnvFile(want.toString('utf8')));
}

/** envDifference() of two parsed env files (names only, never values). Pure. */
export function envMapDifference(h: Readonly<Record<string, string>>, w: Readonly<Record<string, string>>): string[] {
  const keys = Object.keys(w);
  const lacks = keys.filter((k) => !Object.hasOwn(h, k));
  const differs = keys.filter((k) => Object.hasOwn(h, k) && h[k] !== w[k]);
  return [...(lacks.length ? [`lacks ${lacks.join(', ')}`] : []), ...(differs.length ? [`defines ${differs.join(', ')} otherwise than the archive`] : [])];
}

/** The directories missing on the way to `dir` (itself included), outermost first. */
function missingDirs(dir: string): string[] {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d) && dirname(d) !== d; d = dirname(d)) missing.unshift(d);
  return missing;
}

/** Removes a directory this run made, when nothing is left in it. */
function rmdirQuietly(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    /* not empty (something else was put there meanwhile), or gone: left as it is */
  }
}

/**
 * The file `restore --dir` keeps in DIR (written with the stack's files, before Compose first runs)
 * until the database is restored, naming the project and, once Compose has run, each volume it made
 * (by name and creation time): what tells a later run that a volume left alone by a failure in between
 * is its own, and not one made since by another stack of that name. The spec's bytes could not tell:
 * the stack the archive came from has them.
 */
export const RESTORE_MARK_FILE = '.phase-compose-restoring';

/** What a mark holds: the project, and the volumes Compose made for it (name -> CreatedAt). */
export type RestoreMark = { project: string; volumes: Record<string, string> };

/** The mark's bytes. Pure. */
const markBytes = (m: RestoreMark): Buffer => Buffer.from(`${JSON.stringify(m)}\n`);

/** The mark in `dir` when it is one for `project` (a regular file, not a link); else undefined. */
export function readRestoreMark(dir: string, project: string): RestoreMark | undefined {
  const d = readOnDisk(join(dir, RESTORE_MARK_FILE), 64 << 10, { noFollow: true });
  if (d.kind !== 'file') return undefined;
  try {
    const m = JSON.parse(d.data.toString('utf8')) as Partial<RestoreMark>;
    const volumes = m.volumes && typeof m.volumes === 'object' && Object.values(m.volumes).every((v) => typeof v === 'string') ? m.volumes : undefined;
    return m.project === project && volumes ? { project, volumes } : undefined;
  } catch {
    return undefined;
  }
}

/** Records in the mark the volumes Compose made for the project (written atomically, 0600). */
export function markVolumes(dir: string, project: string, volumes: Record<string, string>): void {
  writeFileAtomic(join(dir, RESTORE_MARK_FILE), markBytes({ project, volumes }), 0o600);
}

/** The database is restored: a failure after this is not one a new run mends (`up` is). */
export function unmarkRestoring(dir: string): void {
  rmSync(join(dir, RESTORE_MARK_FILE), { force: true });
}

/**
 * What of project `project` already exists on this host that `restore --dir DIR` did not make: its
 * containers made from another directory than DIR (Compose's working_dir label), and, when none was
 * made from DIR, its volumes but those `marked` names with the same creation time (the mark of an
 * earlier `restore --dir` of this project into DIR that failed before its database was restored:
 * readRestoreMark). Empty: the project is free, or holds only an earlier `restore --dir`
 * of DIR (which may run again; a database it left with data is then refused by refuseNonEmpty). Until
 * 2026-11-29 restore --dir ran `compose up postgres` under the archived project name first, and so
 * could recreate a live stack's postgres from the archive's file before it refused; and a run that had
 * failed after Compose made the volume but before its container could not run again. Pure.
 */
export function projectInUse(
  project: string,
  dir: string,
  containers: Array<{ name: string; state: string; workingDir?: string }>,
  volumes: Array<{ name: string; created?: string }>,
  marked: Readonly<Record<string, string>> = {},
): string[] {
  const inDir = (d: string | undefined) => d !== undefined && inside(dir, d);
  const ours = containers.filter((c) => inDir(c.workingDir));
  const other = containers.filter((c) => !inDir(c.workingDir));
  // By time, not text: the Engine writes it in its own time zone.
  const same = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && !Number.isNaN(Date.parse(a)) && Date.parse(a) === Date.parse(b);
  const leftover = (v: { name: string; created?: string }) => !other.length && same(v.created, marked[v.name]);
  return [
    ...other.map((c) => `container ${c.name} (${c.state}) of project ${project}, made from ${c.workingDir ?? 'an unknown directory'}`),
    ...(ours.length ? [] : volumes.filter((v) => !leftover(v)).map((v) => `volume ${v.name} of project ${project}`)),
  ];
}

/**
 * The proxy's TLS files the stack's spec names that are not on this host: nginx would not start, and
 * `up` would fail after the data was restored. Lines naming each; empty when all are there.
 */
export function missingTlsFiles(specDir: string, tls: { cert: string; key: string } | undefined): string[] {
  if (!tls) return [];
  return ([['certificate', tls.cert], ['key', tls.key]] as const).flatMap(([what, p]) => {
    const path = resolve(specDir, p);
    try {
      const st = statSync(path);
      return st.isFile() ? [] : [`the proxy's TLS ${what} ${path} is ${fileKind(st)}, not a file`];
    } catch (e) {
      return [`the proxy's TLS ${what} ${path} ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read: ${(e as Error).message}`}`];
    }
  });
}

/** The fresh stack's database must be empty: restore --dir never merges into data. */
export async function refuseNonEmpty(docker: DockerClient, pg: PgTarget): Promise<void> {
  const [[n] = []] = await runSql(docker, pg, `SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema');`);
  if (Number(n) > 0) {
    throw new PhaseComposeError('problem', `the new stack's database already holds ${n} tables: restore --dir restores only into an empty database`, {
      details: [
        'use a new project name (-p), or `phase-compose restore FILE` to replace a running stack\'s data',
        'an earlier restore --dir into this directory that restored the database and failed later, in `up`: run `phase-compose -f <DIR>/<spec> -p <project> up`',
      ],
    });
  }
}


/** Waits until the project's postgres container reports healthy (its healthcheck is generated for it). */
export async function waitPostgresHealthy(docker: DockerClient, project: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [c] = await listProject(docker, project, POSTGRES_SERVICE);
    const state = c ? (await docker.getContainer(c.Id).inspect()).State : undefined;
    if (state?.Health?.Status === 'healthy' || (state?.Running && !state.Health)) return;
    if (c && state && !state.Running && state.Status !== 'created') {
      throw new PhaseComposeError('failed', `postgres of project ${project} stopped (exit ${state.ExitCode}) before it was healthy`, { details: [`see docker logs ${c.Id.slice(0, 12)}`] });
    }
    if (Date.now() > deadline) throw new PhaseComposeError('timeout', `postgres of project ${project} was not healthy after ${Math.round(timeoutMs / 1000)}s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
