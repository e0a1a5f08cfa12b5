// `phase-compose restore FILE`: checks the dump (checksum, pg_restore --list), stops the app services,
// pg_restore --clean --if-exists in one transaction from the file streamed into the container, starts them again.
import { createHash } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import { statSync, type Stats } from 'node:fs';
import type { ContainerInfo } from 'dockerode';
import type { DockerClient } from '../docker/client.js';
import { containerName, listProject } from '../docker/containers.js';
import { execIn, type ExecResult } from '../docker/exec.js';
import { L_SERVICE } from '../docker/labels.js';
import { findPostgres, psqlArgv, type PgTarget } from '../exec/postgres.js';
import { LABEL_ROLE, POSTGRES_SERVICE, REDIS_SERVICE } from '../model/compose.js';
import { buildGraph, waves } from '../spec/graph.js';
import type { NormalisedSpec } from '../spec/normalise.js';
import type { Stack } from '../stack/open.js';
import { PhaseComposeError } from '../util/errors.js';
import { onInterruptAgain, type Interrupt } from '../util/signals.js';
import { fileKind, readSource, readStackText, sourcePath, type FileSource } from '../util/fs.js';
import { tail, verifyDump } from './backup.js';
import { lockHolders, type LockHolder } from './instance.js';
import { parseChecksumLine } from './rotation.js';
import { byCodePoint } from '../util/compare.js';

const DATA_SERVICES = new Set([POSTGRES_SERVICE, REDIS_SERVICE]);

/** Running containers that use the database: everything of the project but the data services. Pure. */
export function appContainers(all: ContainerInfo[]): ContainerInfo[] {
  return all.filter((c) => c.State === 'running' && c.Labels[LABEL_ROLE] !== 'data' && !DATA_SERVICES.has(c.Labels[L_SERVICE] ?? ''));
}

/**
 * Containers in start order: by the spec's dependency waves (backend before the proxy that resolves its
 * name at start-up), unknown services last, ties by name. Stop them in the reverse order. Pure.
 */
export function startOrder(spec: NormalisedSpec, containers: ContainerInfo[]): ContainerInfo[] {
  return startWaves(spec, containers).flat();
}

/** The containers in the spec's dependency waves (unknown services together, last): a wave starts at once. */
export function startWaves(spec: NormalisedSpec, containers: ContainerInfo[]): ContainerInfo[][] {
  const rank = new Map<string, number>();
  waves(buildGraph(spec)).forEach((wave, i) => wave.forEach((s) => rank.set(s, i)));
  const key = (c: ContainerInfo) => rank.get(c.Labels[L_SERVICE] ?? '') ?? Number.MAX_SAFE_INTEGER;
  const byWave = new Map<number, ContainerInfo[]>();
  for (const c of [...containers].sort((a, b) => key(a) - key(b) || byCodePoint(containerName(a), containerName(b)))) {
    const wave = byWave.get(key(c));
    if (wave) wave.push(c);
    else byWave.set(key(c), [c]);
  }
  return [...byWave.values()];
}

/** The addresses of `containers` on their networks (a session from one of them is the app's own). Pure. */
export function containerAddresses(containers: ContainerInfo[]): string[] {
  return containers.flatMap((c) => Object.values(c.NetworkSettings?.Networks ?? {}).flatMap((n) => [n.IPAddress, n.GlobalIPv6Address].filter((a): a is string => !!a)));
}

/** What to say of sessions that hold locks pg_restore would wait for. Pure. */
export function lockHolderRefusal(holders: readonly LockHolder[]): PhaseComposeError {
  return new PhaseComposeError('problem', `${holders.length === 1 ? 'a session holds' : `${holders.length} sessions hold`} locks in the database: pg_restore would wait for ${holders.length === 1 ? 'it' : 'them'} with the app stopped`, {
    details: [
      ...holders.map((h) => `pid ${h.pid}${h.application ? ` (${h.application})` : ''} from ${h.client}, ${h.state || 'state unknown'}, in a transaction open for ${h.seconds}s`),
      'end it (its client, or SELECT pg_terminate_backend(<pid>)), then restore again; nothing was changed',
    ],
  });
}

/**
 * Refuses, before anything stops, when another client holds locks in the database (a psql left in a
 * transaction, a long report): until 2026-11-29 pg_restore waited for it with the app stopped, as long
 * as it lasted. The app's own sessions end when it stops, and are left out.
 */
export async function refuseLockHolders(docker: DockerClient, pg: PgTarget, apps: ContainerInfo[]): Promise<void> {
  const holders = await lockHolders(docker, pg, containerAddresses(apps));
  if (holders.length) throw lockHolderRefusal(holders);
}

/** A plain dump's pieces are checked in this size on the second read. */
const DUMP_PIECE = 1 << 20;

/** `source` in pieces of `size` bytes (the last one shorter), whatever sizes its reads return. */
async function* inPieces(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let length = 0;
  for await (const chunk of source) {
    let rest = chunk;
    while (length + rest.length >= size) {
      const take = size - length;
      yield Buffer.concat([...held, rest.subarray(0, take)]);
      rest = rest.subarray(take);
      held = [];
      length = 0;
    }
    if (rest.length) {
      held.push(rest);
      length += rest.length;
    }
  }
  if (length) yield Buffer.concat(held);
}

/** The sha256 of a file as a whole and of each of its pieces: what its second read is checked against. */
export type DumpDigests = { whole: string; pieces: string[] };

/** Reads `file` once for its digests. */
export async function dumpDigests(file: FileSource): Promise<DumpDigests> {
  const whole = createHash('sha256');
  const pieces: string[] = [];
  for await (const piece of inPieces(readSource(file, DUMP_PIECE), DUMP_PIECE)) {
    whole.update(piece);
    pieces.push(createHash('sha256').update(piece).digest('hex'));
  }
  return { whole: whole.digest('hex'), pieces };
}

/**
 * The second read of a file whose digests the first read took: each piece is checked before it is
 * yielded, so a consumer never gets a byte that differs from what was checked (a file written over in
 * place meanwhile). Pure over `source`.
 */
export async function* checkedPieces(source: AsyncIterable<Buffer>, want: DumpDigests, file: string): AsyncGenerator<Buffer> {
  let i = 0;
  const changed = (what: string) => new PhaseComposeError('problem', `${file} changed after it was checked: ${what}`, { details: ['write nothing into a backup while it is restored'] });
  for await (const piece of inPieces(source, DUMP_PIECE)) {
    if (i >= want.pieces.length) throw changed('it grew');
    if (createHash('sha256').update(piece).digest('hex') !== want.pieces[i]) throw changed(`bytes ${i * DUMP_PIECE} to ${i * DUMP_PIECE + piece.length} differ`);
    i += 1;
    yield piece;
  }
  if (i !== want.pieces.length) throw changed('it shrank');
}

/** What writes a dump, piece by piece, into a command's stdin (each write waits for room). */
export type DumpProducer = (write: (chunk: Buffer) => Promise<void>) => Promise<void>;

/**
 * Runs `argv` in `pg`'s container with what `produce` writes on its stdin. When `produce` fails midway,
 * the command is fed bytes no dump holds so that it fails too (pg_restore's transaction rolls back) and
 * `produce`'s error is thrown. When the command ends first, its result is returned as when it fails at
 * the end: its exit code and stderr are the report. With `stdout`, the command's output goes there
 * (back-pressure and all), not into the result.
 */
export async function feedExec(docker: DockerClient, pg: Pick<PgTarget, 'containerId'>, argv: string[], produce: DumpProducer, opts: { stdout?: Writable } = {}): Promise<ExecResult> {
  const stdin = new PassThrough({ highWaterMark: 1 << 20 });
  const endedFirst = new PhaseComposeError('failed', `${argv[0]} ended before the dump did`);
  let ended = false;
  const err = tail();
  const output = opts.stdout ? { stdout: opts.stdout, stderr: err, capture: false } : {};
  const run = execIn(docker, pg.containerId, argv, { stdin, ...output })
    .then((r) => (opts.stdout ? { ...r, stderr: err.text() } : r))
    .finally(() => {
      ended = true;
      stdin.emit('drain');
    });
  run.catch(() => undefined); // awaited below, once the dump is written
  try {
    await produce(async (chunk) => {
      if (ended) throw endedFirst;
      if (!stdin.write(chunk)) await new Promise<void>((res) => stdin.once('drain', () => res()));
    });
    stdin.end();
  } catch (e) {
    if (!ended) stdin.end(Buffer.alloc(4096, 0xff));
    const r = await run;
    if (e === endedFirst && r.exitCode !== 0) return r;
    if (r.exitCode === 0) throw new PhaseComposeError('failed', `${argv[0]} exited 0 although the dump failed midway: check the database`, { cause: e });
    throw e;
  }
  return run;
}

/** The pg_restore argv: drop what exists, recreate, all or nothing. */
export const pgRestoreArgv = (user: string, db: string): string[] =>
  ['pg_restore', '-U', user, '-d', db, '--clean', '--if-exists', '--no-owner', '--single-transaction', '--exit-on-error'];

/**
 * pg_restore writing the dump as SQL (for psql) instead of restoring it: what a wiped restore runs. In one
 * transaction: without --single-transaction the script commits large objects' data on its own (BEGIN;
 * ... COMMIT; in its middle), which would commit whatever came before it.
 */
export const PG_RESTORE_SCRIPT_ARGV: readonly string[] = ['pg_restore', '--clean', '--if-exists', '--no-owner', '--exit-on-error', '--single-transaction', '-f', '-'];

/**
 * The SQL a restore over a database newer than the archive (--force) begins its transaction with. It
 * drops, with what depends on them, outside the system schemas and not an extension's: every table
 * (partitions with their parent), view, materialized view, foreign table and sequence; function,
 * procedure and aggregate (not a type's own constructors); operator and operator family (with its
 * classes); text search configuration and dictionary; enum, composite, range type and domain;
 * collation; publication, foreign server and foreign-data wrapper; and schema but public (not one an
 * extension lives in); every event trigger (first) and large object (last). What stays: subscriptions
 * (not droppable in a transaction), casts between built-in types, default privileges. The statements are all made, with
 * search_path at pg_catalog so that every name comes out schema-qualified, before the first runs (an
 * object dropped with another is then skipped: IF EXISTS). Tried on PostgreSQL 15 with citext,
 * pgcrypto, hstore and postgres_fdw installed: every other object went, and all four still worked.
 */
export const WIPE_SQL = wipeSql();

/** WIPE_SQL, made of one SELECT per kind of object. Pure. */
function wipeSql(): string {
  const userSchema = (n: string) => `${n}.nspname <> 'information_schema' AND ${n}.nspname !~ '^pg_'`;
  /** Not an extension's member (nor, with `internal`, part of another object, like a range type's constructor). */
  const own = (catalog: string, alias: string, internal = false) =>
    `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${alias}.oid AND d.deptype ${internal ? "IN ('e', 'i')" : "= 'e'"})`;
  // [order, statement, FROM ... WHERE ...]: each kind's objects dropped in the order of its number.
  const kinds: Array<[number | string, string, string]> = [
    // First: one on ddl_command_start or sql_drop could veto every drop below (until 2026-11-29 one stayed
    // unless its function went, and that went after the tables).
    [-1, "format('DROP EVENT TRIGGER IF EXISTS %I', c.evtname)", `pg_event_trigger c WHERE ${own('pg_event_trigger', 'c')}`],
    ["CASE c.relkind WHEN 'S' THEN 1 ELSE 0 END",
      "format('DROP %s IF EXISTS %I.%I CASCADE', CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, n.nspname, c.relname)",
      `pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND NOT c.relispartition AND ${userSchema('n')} AND ${own('pg_class', 'c')}`],
    // By kind: DROP ROUTINE matches OUT arguments too, and f(a int, b int) beside f(a int, OUT b int) is then
    // "not unique"; an aggregate of no argument is agg(*).
    [2, `CASE c.prokind WHEN 'p' THEN format('DROP PROCEDURE IF EXISTS %I.%I(%s) CASCADE', n.nspname, c.proname, pg_get_function_identity_arguments(c.oid))
      WHEN 'a' THEN format('DROP AGGREGATE IF EXISTS %I.%I(%s) CASCADE', n.nspname, c.proname, coalesce(nullif(pg_get_function_identity_arguments(c.oid), ''), '*'))
      ELSE format('DROP FUNCTION IF EXISTS %s CASCADE', c.oid::regprocedure) END`,
      `pg_proc c JOIN pg_namespace n ON n.oid = c.pronamespace WHERE ${userSchema('n')} AND ${own('pg_proc', 'c', true)}`],
    [3, "format('DROP OPERATOR IF EXISTS %s CASCADE', c.oid::regoperator)",
      `pg_operator c JOIN pg_namespace n ON n.oid = c.oprnamespace WHERE ${userSchema('n')} AND ${own('pg_operator', 'c')}`],
    [4, "format('DROP OPERATOR FAMILY IF EXISTS %I.%I USING %I CASCADE', n.nspname, c.opfname, a.amname)",
      `pg_opfamily c JOIN pg_namespace n ON n.oid = c.opfnamespace JOIN pg_am a ON a.oid = c.opfmethod WHERE ${userSchema('n')} AND ${own('pg_opfamily', 'c')}`],
    [5, "format('DROP TEXT SEARCH CONFIGURATION IF EXISTS %I.%I CASCADE', n.nspname, c.cfgname)",
      `pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace WHERE ${userSchema('n')} AND ${own('pg_ts_config', 'c')}`],
    [6, "format('DROP TEXT SEARCH DICTIONARY IF EXISTS %I.%I CASCADE', n.nspname, c.dictname)",
      `pg_ts_dict c JOIN pg_namespace n ON n.oid = c.dictnamespace WHERE ${userSchema('n')} AND ${own('pg_ts_dict', 'c')}`],
    [7, "format('DROP %s IF EXISTS %s CASCADE', CASE c.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, c.oid::regtype)",
      `pg_type c JOIN pg_namespace n ON n.oid = c.typnamespace WHERE c.typtype IN ('e', 'd', 'r', 'c') AND ${userSchema('n')}
        AND (c.typtype <> 'c' OR (SELECT r.relkind FROM pg_class r WHERE r.oid = c.typrelid) = 'c') AND ${own('pg_type', 'c', true)}`],
    [8, "format('DROP COLLATION IF EXISTS %I.%I CASCADE', n.nspname, c.collname)",
      `pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace WHERE ${userSchema('n')} AND ${own('pg_collation', 'c')}`],
    [9, "format('DROP PUBLICATION IF EXISTS %I', c.pubname)", `pg_publication c WHERE ${own('pg_publication', 'c')}`],
    [10, "format('DROP SERVER IF EXISTS %I CASCADE', c.srvname)", `pg_foreign_server c WHERE ${own('pg_foreign_server', 'c')}`],
    [11, "format('DROP FOREIGN DATA WRAPPER IF EXISTS %I CASCADE', c.fdwname)", `pg_foreign_data_wrapper c WHERE ${own('pg_foreign_data_wrapper', 'c')}`],
    [12, "format('DROP SCHEMA IF EXISTS %I CASCADE', c.nspname)",
      `pg_namespace c WHERE c.nspname <> 'public' AND ${userSchema('c')} AND NOT EXISTS (SELECT 1 FROM pg_extension e WHERE e.extnamespace = c.oid) AND ${own('pg_namespace', 'c')}`],
  ];
  const selects = kinds.map(([k, stmt, from]) => `    SELECT ${k} AS k, c.oid AS o, ${stmt} AS s\n    FROM ${from}`).join('\n    UNION ALL\n');
  return `DO $phase_compose_wipe$
DECLARE stmt text;
BEGIN
  PERFORM set_config('search_path', 'pg_catalog', true); -- every name below comes out schema-qualified
  FOREACH stmt IN ARRAY coalesce((SELECT array_agg(s ORDER BY k, o) FROM (
${selects}
  ) AS drops), '{}') LOOP
    EXECUTE stmt;
  END LOOP;
  -- Large objects (until 2026-11-29 they stayed): the archive's own are unlinked and made again by its script.
  PERFORM pg_catalog.lo_unlink(l.oid) FROM pg_catalog.pg_largeobject_metadata l;
END
$phase_compose_wipe$;
`;
}

/** The statement pg_restore --single-transaction ends its script with (a comment and \unrestrict may follow). */
const SCRIPT_COMMIT = Buffer.from('\nCOMMIT;\n');
/** How much of the script's end is held back to find that COMMIT in: it is followed by some 100 bytes. */
const HELD_BACK = 64 << 10;

/**
 * Passes a pg_restore --single-transaction script on, all but its last COMMIT: the caller sends its own
 * once it knows that pg_restore ended well. Each `push` returns what may go on now; `end` the rest, less
 * that COMMIT, or undefined when the script does not end with one (followed only by blank lines,
 * comments and psql's \unrestrict): then nothing must be committed. Pure.
 */
export function withoutFinalCommit(): { push(chunk: Buffer): Buffer; end(): Buffer | undefined } {
  // Held as chunks, whole ones let go from the front: memory stays at HELD_BACK and a chunk. Chunks under
  // 8 KiB are gathered apart and joined once they make 8 KiB: each byte is copied once, whatever the sizes.
  const held: Buffer[] = [];
  let size = 0;
  let small: Buffer[] = [];
  let smallSize = 0;
  const joinSmall = () => {
    if (!small.length) return;
    held.push(Buffer.concat(small));
    small = [];
    smallSize = 0;
  };
  return {
    push(chunk) {
      if (chunk.length < 8192) {
        small.push(chunk);
        smallSize += chunk.length;
        if (smallSize >= 8192) joinSmall();
      } else {
        joinSmall();
        held.push(chunk);
      }
      size += chunk.length;
      const out: Buffer[] = [];
      while (held.length && size - held[0]!.length >= HELD_BACK) {
        size -= held[0]!.length;
        out.push(held.shift()!);
      }
      return out.length === 1 ? out[0]! : Buffer.concat(out);
    },
    end() {
      const tail = Buffer.concat([...held, ...small]);
      const at = tail.lastIndexOf(SCRIPT_COMMIT);
      if (at < 0) return undefined;
      const after = tail.subarray(at + SCRIPT_COMMIT.length).toString('utf8');
      if (!after.split('\n').every((l) => l === '' || l.startsWith('--') || /^\\unrestrict [A-Za-z0-9]+$/.test(l))) return undefined;
      return Buffer.concat([tail.subarray(0, at + 1), tail.subarray(at + SCRIPT_COMMIT.length)]);
    },
  };
}

/**
 * A restore over a database newer than the archive (--force), all or nothing. pg_restore --clean drops
 * only the archive's own objects: until 2026-11-29 a table a later migration had made stayed, and the
 * next `migrate` failed on it ("already exists"), or, when it referred to an archived table, the restore
 * itself failed. Here one psql session runs, in one transaction, WIPE_SQL and then the dump as pg_restore
 * writes it as SQL, less its own COMMIT; COMMIT follows only when pg_restore has ended well and the
 * script was whole (else psql's input just ends, and the server rolls the transaction back). Throws
 * `failed` with the failing command's words.
 */
export async function wipedRestore(docker: DockerClient, pg: PgTarget, produce: DumpProducer): Promise<void> {
  const sql = new PassThrough({ highWaterMark: 1 << 20 });
  let psqlEnded = false;
  const psql = execIn(docker, pg.containerId, psqlArgv(pg), { stdin: sql }).finally(() => {
    psqlEnded = true;
    sql.emit('drain'); // a write waiting for room goes on (psql has stopped reading)
  });
  psql.catch(() => undefined); // awaited below; an exec that fails early must not end the process with the app stopped
  // pg_restore's SQL into psql's input, which stays open for the COMMIT. Once psql has ended (a statement
  // failed), the rest is dropped: pg_restore reads on to its end, and psql's error is the report.
  const script = withoutFinalCommit();
  let whole = false;
  const pass = (b: Buffer, cb: () => void) => {
    if (psqlEnded || !b.length || sql.write(b)) return cb();
    sql.once('drain', () => cb());
  };
  const forward = new Writable({
    highWaterMark: 1 << 20,
    write: (chunk: Buffer, _e, cb) => pass(script.push(chunk), cb),
    final: (cb) => {
      const rest = script.end();
      whole = rest !== undefined;
      pass(rest ?? Buffer.alloc(0), cb);
    },
  });
  // pg_restore's own BEGIN then only warns: the transaction is already open.
  sql.write(`SET client_min_messages = warning;\nBEGIN;\n${WIPE_SQL}`); // no NOTICE for each constraint dropped with a table
  // pg_restore's run ends once its output is handed to `forward`, which may still hold some of it: all of
  // it goes into psql's input before that ends (else the script's last part was cut off).
  const forwarded = () => new Promise<void>((res) => forward.end(() => res()));
  let restored: ExecResult;
  try {
    restored = await feedExec(docker, pg, [...PG_RESTORE_SCRIPT_ARGV], produce, { stdout: forward });
  } catch (e) {
    await forwarded();
    sql.end();
    await psql.catch(() => undefined);
    // pg_restore exited 0 on a dump cut short: the archive's own error is the report (nothing was committed).
    throw e instanceof PhaseComposeError && e.cause instanceof Error && / exited 0 although the dump failed midway/.test(e.message) ? e.cause : e;
  }
  await forwarded();
  const commit = restored.exitCode === 0 && whole;
  sql.end(commit ? 'COMMIT;\n' : undefined);
  const applied = await psql;
  const failed =
    applied.exitCode !== 0 ? { what: 'psql', r: applied }
    : restored.exitCode !== 0 ? { what: 'pg_restore', r: restored }
    : !commit ? { what: 'pg_restore', r: { ...restored, exitCode: 0, stderr: `${restored.stderr}\nits script did not end with the COMMIT of its transaction` } }
    : undefined;
  // With ON_ERROR_STOP, psql exits 3 when a statement failed (the COMMIT too): rolled back. Any other end
  // after the COMMIT was sent (2: the connection lost; the container stopped or killed) leaves it unknown.
  if (failed && commit && failed.what === 'psql' && applied.exitCode !== 3) {
    throw new PhaseComposeError('failed', `the restore's psql ended after its COMMIT was sent (exit ${applied.exitCode}): whether the database is the archive's or as before is not known`, {
      details: [...applied.stderr.trim().split('\n').slice(-10), 'check the database (its django_migrations, the tables the archive holds) before the app writes to it'],
    });
  }
  if (failed) {
    throw new PhaseComposeError('failed', `the restore failed (${failed.what} exit ${failed.r.exitCode}); the transaction was rolled back, the database is as before`, {
      details: failed.r.stderr.trim().split('\n').slice(-10),
    });
  }
}

export type RestoreResult = { file: string; tables: number; stopped: string[] };

/** The backup named must be a file: a usage error (exit 2) otherwise, found before Docker is asked anything. */
export function checkBackupFile(file: string): void {
  let st: Stats;
  try {
    st = statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new PhaseComposeError('usage', `no backup file ${file}`);
    throw new PhaseComposeError('problem', `cannot read ${file}: ${(e as Error).message}`);
  }
  refuseNonBackup(file, st);
}

/** A backup is a regular file: anything else at `file` is a usage error naming what it is. */
export function refuseNonBackup(file: string, st: Stats): void {
  if (!st.isFile()) throw new PhaseComposeError('usage', `${file} is ${fileKind(st)}, not a backup file (a backup is a regular file)`);
}

/** Restores `file` into the stack's database; `confirm` is asked after the checks, before anything stops. */
export async function restoreDatabase(
  docker: DockerClient,
  stack: Pick<Stack, 'project' | 'spec'>,
  source: FileSource,
  opts: { confirm: (question: string) => Promise<boolean>; log?: (line: string) => void; beforeStop?: () => void },
): Promise<RestoreResult> {
  const log = opts.log ?? (() => {});
  const file = sourcePath(source);
  if (typeof source === 'string') checkBackupFile(file);
  const sumFile = `${file}.sha256`;
  const sumText = readStackText(sumFile);
  // Read once for its digests, whole and by piece: the second read, into pg_restore, is checked against them.
  const digests = await dumpDigests(source);
  if (sumText !== undefined) {
    const want = parseChecksumLine(sumText);
    const got = digests.whole;
    if (want !== got) throw new PhaseComposeError('problem', `checksum mismatch: ${file} is not the file ${sumFile} describes`, { details: [`expected ${want}`, `actual   ${got}`] });
    log(`restore: checksum ok (${got})`);
  } else log(`restore: no ${sumFile}; checking the dump's table of contents only`);

  const pg = await findPostgres(docker, stack);
  const tables = await verifyDump(docker, pg, source);
  const waves = startWaves(stack.spec, appContainers(await listProject(docker, stack.project)));
  const names = waves.flat().map((c) => c.Labels[L_SERVICE] ?? c.Id.slice(0, 12));
  const question =
    `Restore ${file} (${tables} tables with data) into database "${pg.db}" of project "${stack.project}"? This replaces the current data` +
    (names.length ? ` and stops ${[...new Set(names)].join(', ')} meanwhile.` : '.');
  await confirmedRestore(docker, pg, waves, { ...opts, log }, question, async () => {
    log(`restore: pg_restore --clean --if-exists --single-transaction into ${pg.db}`);
    const r = await feedExec(docker, pg, pgRestoreArgv(pg.user, pg.db), async (write) => {
      for await (const piece of checkedPieces(readSource(source, DUMP_PIECE), digests, file)) await write(piece);
    });
    if (r.exitCode !== 0) {
      throw new PhaseComposeError('failed', `pg_restore failed (exit ${r.exitCode}); the transaction was rolled back, the database is as before`, {
        details: r.stderr.trim().split('\n').slice(-10),
      });
    }
  });
  return { file, tables, stopped: names };
}

/**
 * How both restores into the running stack end, once every check has passed: the question; then, just
 * before the stop (the question may have waited long), the database's lock (`beforeStop`: a running
 * backup is named as such) and the other sessions' locks; then `restore` with the app stopped.
 */
export async function confirmedRestore(
  docker: DockerClient,
  pg: PgTarget,
  waves: ContainerInfo[][],
  opts: { confirm: (question: string) => Promise<boolean>; beforeStop?: () => void; log: (line: string) => void },
  question: string,
  restore: () => Promise<void>,
): Promise<void> {
  if (!(await opts.confirm(question))) throw new PhaseComposeError('problem', 'cancelled: nothing was changed');
  opts.beforeStop?.();
  await refuseLockHolders(docker, pg, waves.flat());
  await withStopped(docker, waves, opts.log, restore);
}

/**
 * Stops every container of `waves` at once (each drains on its own SIGTERM; one after another cost the
 * sum of their stops), runs `f`, and starts them again whatever happened: wave after wave, each wave at
 * once (a proxy started before its upstream cannot resolve it).
 */
export async function withStopped(
  docker: DockerClient,
  waves: ContainerInfo[][],
  log: (l: string) => void,
  f: () => Promise<void>,
  opts: { now?: () => number; leave?: (signal: Interrupt) => void } = {},
): Promise<void> {
  // Ctrl-C (or SIGTERM) while the app is stopped would leave it stopped, with a restore going on in the
  // container. The restore is one transaction: the first signal is held (said so), and the app starts
  // again once it ends; the same one again leaves at once, the app stopped, as the message says. A copy
  // sooner than AGAIN_GAP_MS is not "again": through `npx` or `npm run`, one Ctrl-C comes twice (until
  // 2026-11-29 that left at once, the app stopped).
  const leave = opts.leave ?? ((signal: Interrupt) => process.kill(process.pid, signal));
  const stopListening = onInterruptAgain((signal, again) => {
    const what = signal === 'SIGINT' ? 'Ctrl-C' : signal;
    if (!again) {
      log(`restore: ${what} held: the restore runs in one transaction and is not cut short; the app starts again once it ends. ${what} again (0.5 s or more later) leaves now, with the app stopped (then start it with \`phase-compose up\`)`);
      return;
    }
    stopListening();
    leave(signal);
  }, opts.now ? { now: opts.now } : {});
  try {
    await stopRestoreStart(docker, waves, log, f);
  } finally {
    stopListening();
  }
}

async function stopRestoreStart(docker: DockerClient, waves: ContainerInfo[][], log: (l: string) => void, f: () => Promise<void>): Promise<void> {
  const apps = waves.flat().reverse();
  for (const c of apps) log(`restore: stopping ${containerName(c)}`);
  const stops = await Promise.allSettled(apps.map((c) => docker.getContainer(c.Id).stop({ t: 10 })));
  const failed = stops.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  /** Starts every wave in turn; returns a line for each container that did not start. */
  const startAll = async (say: boolean): Promise<string[]> => {
    const notStarted: string[] = [];
    for (const wave of waves) {
      await Promise.all(wave.map((c) => {
        if (say) log(`restore: starting ${containerName(c)}`);
        return docker.getContainer(c.Id).start().catch((e: Error) => {
          log(`restore: could not start ${containerName(c)}: ${e.message}`);
          notStarted.push(`${containerName(c)}: ${e.message}`);
        });
      }));
    }
    return notStarted;
  };
  if (failed) {
    // Nothing was restored: start again whatever did stop, then report.
    await startAll(false);
    throw failed.reason;
  }
  let restored = false;
  try {
    await f();
    restored = true;
  } finally {
    const notStarted = await startAll(true);
    // The restore went through but the app is not all back: not a success (before: exit 0 all the same).
    if (restored && notStarted.length) {
      throw new PhaseComposeError('failed', `the database was restored, but ${notStarted.length === 1 ? 'a container' : `${notStarted.length} containers`} of the app did not start again`, {
        details: [...notStarted, 'start the app with `phase-compose up`; the restored data stays'],
      });
    }
  }
}
