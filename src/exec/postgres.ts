// The postgres data service: who to connect as (from the container's env), psql/pg_dump argv builders,
// and running SQL in the container with values passed as psql variables (never spliced into SQL).
import type { Writable } from 'node:stream';
import type { DockerClient } from '../docker/client.js';
import { runningContainer } from '../docker/containers.js';
import { execIn, type ExecOptions, type ExecResult } from '../docker/exec.js';
import type { Stack } from '../stack/open.js';
import { PhaseComposeError } from '../util/errors.js';

import { POSTGRES_SERVICE } from '../model/compose.js';


export type PgTarget = { containerId: string; user: string; db: string };

/** User and database from a container's `Config.Env` (the official image's defaults: user postgres, db = user). */
export function pgLogin(env: string[] | undefined): { user: string; db: string } {
  const get = (k: string) => env?.find((e) => e.startsWith(`${k}=`))?.slice(k.length + 1) || undefined;
  const user = get('POSTGRES_USER') ?? 'postgres';
  return { user, db: get('POSTGRES_DB') ?? user };
}

/** psql reading SQL from stdin, so `:'var'` / `:"var"` interpolation works (it does not with -c). */
export function psqlArgv(t: Pick<PgTarget, 'user' | 'db'>, vars: Record<string, string> = {}): string[] {
  const argv = ['psql', '-X', '-q', '-U', t.user, '-d', t.db, '-At', '-F', '\t', '-v', 'ON_ERROR_STOP=1'];
  for (const [k, v] of Object.entries(vars)) argv.push('-v', `${k}=${v}`);
  return [...argv, '-f', '-'];
}

/**
 * pg_dump's zlib level in a backup (`-Z`, 0 to 9; pg_dump's own default for -Fc is 6). Level 1, measured on
 * the test bed's 1,000,000 audit events (PostgreSQL 15): the dump took 1.37-1.58 s against 2.14-2.27 s
 * at pg_dump's default, and is 18% larger (25.2 MB against 21.4 MB). pg_dump compresses on one core while
 * the server reads and Docker copies, so the level decides most of a backup's time; a backup runs before
 * every migration, when the time counts more than the bytes. `backups.compress` or `backup --compress` chooses another.
 */
export const DUMP_COMPRESSION = 1;

/**
 * `pg_dump` in the custom format (what pg_restore reads, table of contents first) at zlib level
 * `compress`; in an exported `snapshot` (pg_export_snapshot()) when given.
 */
export function pgDumpArgv(t: Pick<PgTarget, 'user' | 'db'>, compress = DUMP_COMPRESSION, snapshot?: string): string[] {
  if (!(Number.isInteger(compress) && compress >= 0 && compress <= 9)) throw new PhaseComposeError('usage', `compression level ${compress}: pg_dump takes 0 (none) to 9 (smallest)`);
  return ['pg_dump', '-U', t.user, '-d', t.db, '-Fc', ...(snapshot ? [`--snapshot=${snapshot}`] : []), '-Z', String(compress)];
}

/** Finds the running postgres container of the project and how to log in to it. */
export async function findPostgres(docker: DockerClient, stack: Pick<Stack, 'project' | 'spec'>): Promise<PgTarget> {
  if (!stack.spec.data.postgres) {
    throw new PhaseComposeError('usage', 'the spec has no data.postgres service', { details: ['add `data: { postgres: ... }` to the spec'] });
  }
  const c = await runningContainer(docker, stack.project, POSTGRES_SERVICE);
  const info = await docker.getContainer(c.Id).inspect();
  return { containerId: c.Id, ...pgLogin(info.Config.Env) };
}

/** A psql run failed: the SQL's error text is in `stderr`. */
export class SqlError extends PhaseComposeError {
  readonly stderr: string;
  /** The run as execIn gave it (its exit code, and the signal forwarded to psql, if one was). */
  readonly result: ExecResult;
  constructor(what: string, r: ExecResult) {
    super('failed', `${what} failed in the postgres container (psql exit ${r.exitCode})`, { details: r.stderr.trim().split('\n').filter(Boolean) });
    this.name = 'SqlError';
    this.stderr = r.stderr;
    this.result = r;
  }
}

/**
 * Runs SQL (from stdin) and returns the unaligned, tab-separated rows; throws SqlError on failure. With
 * `forward`, Ctrl-C reaches psql, which cancels the running statement in the server.
 */
export async function runSql(docker: DockerClient, t: PgTarget, sql: string, vars: Record<string, string> = {}, what = 'SQL', live?: Writable, forward?: ExecOptions['forward']): Promise<string[][]> {
  const r = await execIn(docker, t.containerId, psqlArgv(t, vars), { stdin: sql, stderr: live, ...(forward ? { forward } : {}) });
  if (r.exitCode !== 0) throw new SqlError(what, r);
  return psqlRows(r.stdout);
}

/** psqlArgv's output (unaligned, tab-separated, no header) as rows of fields. Pure. */
export const psqlRows = (text: string): string[][] => text.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));

/** Indexes PostgreSQL marks invalid (`pg_index.indisvalid = false`): what a failed CREATE INDEX CONCURRENTLY leaves. */
export async function invalidIndexes(docker: DockerClient, stack: Pick<Stack, 'project' | 'spec'>): Promise<string[]> {
  const rows = await runSql(docker, await findPostgres(docker, stack), 'SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid ORDER BY 1;\n', {}, 'listing invalid indexes');
  return rows.map((r) => r[0]!);
}

/** The lines to print after a failed migration: the invalid indexes, or that there are none. */
export function invalidIndexLines(names: string[]): string[] {
  if (!names.length) return ['invalid indexes: none (pg_index.indisvalid is true for every index)'];
  return [
    `invalid indexes left in the database (a non-atomic migration building them CONCURRENTLY failed): ${names.join(', ')}`,
    '  drop each with DROP INDEX CONCURRENTLY <name>; before the migration runs again',
  ];
}
