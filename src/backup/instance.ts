// Facts about a running instance that an archive records and a restore compares: PostgreSQL's version,
// the applied Django migrations, the images of the project's containers; and row counts per table.
import { PassThrough, Writable } from 'node:stream';
import type { DockerClient } from '../docker/client.js';
import { listProject } from '../docker/containers.js';
import { L_SERVICE } from '../docker/labels.js';
import { execIn } from '../docker/exec.js';
import { psqlArgv, psqlRows, runSql, SqlError, type PgTarget } from '../exec/postgres.js';
import { PhaseComposeError } from '../util/errors.js';
import type { ImageInfo, Migration } from './archive.js';
import { byCodePoint } from '../util/compare.js';

// The server's version and the applied migrations, as rows tagged 'v' and 'm'.
const FACTS_SQL = `SELECT to_regclass('public.django_migrations') IS NOT NULL AS has_migrations \\gset
SELECT 'v', current_setting('server_version');
\\if :has_migrations
SELECT 'm', app, name FROM django_migrations ORDER BY id;
\\endif
`;

type Facts = { version: string; migrations: Migration[] };

const factsOf = (rows: string[][]): Facts => ({
  version: rows.find(([k]) => k === 'v')?.[1] ?? '',
  migrations: rows.filter(([k]) => k === 'm').map(([, app, name]) => ({ app: app!, name: name! })),
});

/**
 * PostgreSQL's version and every applied migration in the order applied (none when the database has no
 * django_migrations table), in one psql run: each docker exec costs a round trip to the Engine.
 */
export async function databaseFacts(docker: DockerClient, pg: PgTarget): Promise<Facts> {
  return factsOf(await runSql(docker, pg, FACTS_SQL, {}, 'reading the server version and django_migrations'));
}

/** databaseFacts read in a transaction held open, whose snapshot pg_dump takes with `--snapshot`. */
export type HeldFacts = Facts & {
  /** pg_export_snapshot()'s name, for `pg_dump --snapshot`: valid until `release`. */
  snapshot: string;
  /** Ends the transaction (psql's input closes); call once pg_dump has ended. */
  release(): Promise<void>;
};

/** What pg_export_snapshot() returns (e.g. 00000003-00000845-1); anything else is not passed on to pg_dump. */
const SNAPSHOT_NAME = /^[0-9A-F]{1,16}(-[0-9A-F]{1,16}){1,2}$/i;

/**
 * databaseFacts in the same snapshot as the dump: a backup's archive lists the migrations its dump holds.
 * Read apart from it (until 2026-11-29), a migration applied between the read and pg_dump's start was in
 * the dump but not in the list, and a restore of it refused the database as "newer". The transaction
 * exports its snapshot and stays open (idle, with no timeout of its own) until `release`: a snapshot can
 * be imported only while the transaction that exported it lives. psql answers each statement as it comes.
 */
export async function snapshotFacts(docker: DockerClient, pg: PgTarget): Promise<HeldFacts> {
  const what = 'reading the server version and django_migrations';
  const stdin = new PassThrough();
  let text = '';
  let answered: (rows: string[][]) => void = () => {};
  const read = new Promise<string[][]>((res) => (answered = res));
  const stdout = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString('utf8');
      if (/^e\n/m.test(text)) answered(psqlRows(text));
      cb();
    },
  });
  stdin.write(`SET idle_in_transaction_session_timeout = 0;
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT 's', pg_export_snapshot();
${FACTS_SQL}SELECT 'e';
`);
  const run = execIn(docker, pg.containerId, psqlArgv(pg, {}), { stdin, stdout, capture: true });
  // psql ends before its last answer only when a statement failed (ON_ERROR_STOP) or it was killed.
  const ended = run.then((r) => {
    throw new SqlError(what, r.exitCode === 0 ? { ...r, exitCode: -1, stderr: `${r.stderr}\npsql ended before it answered` } : r);
  });
  ended.catch(() => undefined);
  const release = async () => {
    stdin.end();
    await run.catch(() => undefined); // the facts are read; how the idle transaction ended does not matter
  };
  let rows: string[][];
  try {
    rows = await Promise.race([read, ended]);
  } catch (e) {
    await release();
    throw e;
  }
  const snapshot = rows.find(([k]) => k === 's')?.[1] ?? '';
  if (!SNAPSHOT_NAME.test(snapshot)) {
    await release();
    throw new PhaseComposeError('failed', `${what}: pg_export_snapshot() returned ${JSON.stringify(snapshot.slice(0, 80))}`);
  }
  return { ...factsOf(rows), snapshot, release };
}

/** Every applied migration in the order applied; none when the database has no django_migrations table. */
export async function appliedMigrations(docker: DockerClient, pg: PgTarget): Promise<Migration[]> {
  return (await databaseFacts(docker, pg)).migrations;
}

/** Rows of every table outside the system schemas (`schema.table` -> count), exact (count(*)). */
export async function rowCounts(docker: DockerClient, pg: PgTarget): Promise<Array<[string, number]>> {
  const sql = `SELECT format('%s.%s', table_schema, table_name),
  (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text
FROM information_schema.tables
WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1;`;
  return (await runSql(docker, pg, sql, {}, 'counting rows')).map(([t, c]) => [t!, Number(c)]);
}

/** The image (name, ID, digests, version label) of each service with a container in the project. */
export async function projectImages(docker: DockerClient, project: string): Promise<ImageInfo[]> {
  const byService = new Map<string, ImageInfo>();
  const inspected = new Map<string, ReturnType<ReturnType<DockerClient['getImage']>['inspect']>>();
  for (const c of await listProject(docker, project)) {
    const service = c.Labels[L_SERVICE];
    if (!service || byService.has(service)) continue;
    if (!inspected.has(c.ImageID)) inspected.set(c.ImageID, docker.getImage(c.ImageID).inspect());
    const info = await inspected.get(c.ImageID)!.catch(() => undefined);
    const version = info?.Config?.Labels?.['org.opencontainers.image.version'];
    byService.set(service, { service, image: c.Image, id: c.ImageID, digests: info?.RepoDigests ?? [], ...(version ? { version } : {}) });
  }
  return [...byService.values()].sort((a, b) => byCodePoint(a.service, b.service));
}

/** A session of another client that holds locks in the database in a transaction open for a while. */
export type LockHolder = { pid: number; application: string; client: string; state: string; seconds: number };

/** How old a transaction holding locks must be to count as left open (an app's request takes milliseconds). */
export const LOCK_HOLDER_MIN_S = 5;

/**
 * Client sessions that hold table locks in `pg`'s database in a transaction open for more than
 * LOCK_HOLDER_MIN_S seconds, other than the app's own (by their containers' addresses: they go when the
 * app stops). pg_restore's DROPs would wait for them with the app stopped, and a lock timeout cannot
 * bound that wait: every dump begins with `SET lock_timeout = 0`.
 */
export async function lockHolders(docker: DockerClient, pg: PgTarget, appAddresses: readonly string[]): Promise<LockHolder[]> {
  const sql = `SELECT a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local socket'), coalesce(a.state, ''),
  floor(extract(epoch FROM now() - a.xact_start))::bigint
FROM pg_stat_activity a
WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
  AND a.xact_start < now() - make_interval(secs => :'min_s'::int)
  AND NOT (coalesce(host(a.client_addr), '') = ANY (string_to_array(:'app', ',')))
  AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'relation' AND l.granted)
ORDER BY a.pid;`;
  const rows = await runSql(docker, pg, sql, { min_s: String(LOCK_HOLDER_MIN_S), app: appAddresses.join(',') }, 'listing sessions that hold locks');
  return rows.map(([pid, application, client, state, seconds]) => ({ pid: Number(pid), application: application!, client: client!, state: state!, seconds: Number(seconds) }));
}
