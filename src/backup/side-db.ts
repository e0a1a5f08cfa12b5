// `restore FILE` into the running stack through a side database. The dump is restored into a new database
// beside the live one (from the start with --yes, while the archive is still being checked and the app
// stops; else once the user said yes), and only when it is complete, and the archive checked, do the two
// swap names, in one transaction. The old one is then dropped. So the live data stays as it is until the
// very end (as with one pg_restore --clean transaction), and the restore's wait is the restore alone, not
// the check, then the stop, then the restore.
//
// A database that carries more than its tables (grants, ALTER DATABASE ... SET, a comment, a connection
// limit, a tablespace, a non-libc locale, security labels), or a user who may not create and rename
// databases, keeps the restore in place: pg_dump -Fc does not hold those, and a new database would lose them.
//
// Pure: the names, the decision and the SQL. The SQL takes every name and value as a psql variable.
import { Buffer } from 'node:buffer';

/** PostgreSQL truncates identifiers to 63 bytes (NAMEDATALEN - 1). */
const MAX_IDENT = 63;

export type SideNames = { side: string; old: string; maintenance: string };

/** `name` cut to at most `bytes` bytes of UTF-8, never inside a character. */
function cutUtf8(name: string, bytes: number): string {
  let out = '';
  for (const ch of name) {
    if (Buffer.byteLength(out + ch, 'utf8') > bytes) break;
    out += ch;
  }
  return out;
}

const SIDE_SUFFIX = '_pcrestore';
const OLD_SUFFIX = '_pcreplaced';

/**
 * The database restored into, the name the replaced one gets until it is dropped, and the database the
 * swap connects to (neither of the two: `postgres`, or `template1` when the live one is called postgres).
 */
export function sideNames(db: string): SideNames {
  return {
    side: cutUtf8(db, MAX_IDENT - SIDE_SUFFIX.length) + SIDE_SUFFIX,
    old: cutUtf8(db, MAX_IDENT - OLD_SUFFIX.length) + OLD_SUFFIX,
    maintenance: db === 'postgres' ? 'template1' : 'postgres',
  };
}

/** The comments that mark a database as ours, for the live database `db`: only a marked one is ever dropped. */
export const sideMark = (db: string) => `phase-compose restore into ${JSON.stringify(db)}: not in use yet; dropped when the restore ends`;
export const oldMark = (db: string) => `phase-compose restore: the data ${JSON.stringify(db)} held before a restore replaced it; dropped once the restore is done`;

/**
 * What `sideFactsSql` returns for the live database: why it cannot be swapped (empty: it can), its owner,
 * encoding and locale, and whether each of the side names is free, ours (marked) or someone else's.
 */
export type SideFacts = {
  why: string;
  owner: string;
  encoding: string;
  collate: string;
  ctype: string;
  side: 'absent' | 'ours' | 'other';
  old: 'absent' | 'ours' | 'other';
};

/** Variables for sideFactsSql. */
export const sideFactsVars = (db: string, n: SideNames): Record<string, string> => ({
  db, side: n.side, old: n.old, maintenance: n.maintenance, side_mark: sideMark(db), old_mark: oldMark(db),
});

/** One row, tab-separated (see SideFacts); none when the database does not exist. Run connected to the live database. */
export const SIDE_FACTS_SQL = `SELECT concat_ws('; ',
    CASE WHEN NOT (r.rolsuper OR (r.rolcreatedb AND d.datdba = r.oid)) THEN 'user ' || current_user || ' may not create and rename it' END,
    CASE WHEN d.datacl IS NOT NULL THEN 'it has grants of its own' END,
    CASE WHEN EXISTS (SELECT 1 FROM pg_db_role_setting s WHERE s.setdatabase = d.oid) THEN 'it has settings of its own (ALTER DATABASE ... SET)' END,
    CASE WHEN shobj_description(d.oid, 'pg_database') IS NOT NULL THEN 'it has a comment' END,
    CASE WHEN d.datconnlimit <> -1 THEN 'it has a connection limit' END,
    CASE WHEN t.spcname <> 'pg_default' THEN 'it is in a tablespace of its own' END,
    CASE WHEN coalesce(to_jsonb(d) ->> 'datlocprovider', 'c') <> 'c' THEN 'its locale is not the C library''s' END,
    CASE WHEN EXISTS (SELECT 1 FROM pg_shseclabel l WHERE l.objoid = d.oid AND l.classoid = 'pg_database'::regclass) THEN 'it has security labels' END,
    CASE WHEN NOT EXISTS (SELECT 1 FROM pg_database m WHERE m.datname = :'maintenance' AND m.datallowconn) THEN 'there is no database ' || :'maintenance' || ' to swap from' END),
  pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding), d.datcollate, d.datctype,
  coalesce((SELECT CASE WHEN shobj_description(s.oid, 'pg_database') = :'side_mark' THEN 'ours' ELSE 'other' END FROM pg_database s WHERE s.datname = :'side'), 'absent'),
  coalesce((SELECT CASE WHEN shobj_description(o.oid, 'pg_database') = :'old_mark' THEN 'ours' ELSE 'other' END FROM pg_database o WHERE o.datname = :'old'), 'absent')
FROM pg_database d JOIN pg_roles r ON r.rolname = current_user JOIN pg_tablespace t ON t.oid = d.dattablespace
WHERE d.datname = :'db';
`;

/** The row of SIDE_FACTS_SQL as SideFacts; undefined when it is not one. */
export function parseSideFacts(rows: string[][]): SideFacts | undefined {
  const [row] = rows;
  if (rows.length !== 1 || row?.length !== 7) return undefined;
  const [why, owner, encoding, collate, ctype, side, old] = row as [string, string, string, string, string, string, string];
  const place = (s: string) => (s === 'absent' || s === 'ours' || s === 'other' ? s : undefined);
  const sp = place(side);
  const op = place(old);
  if (!sp || !op) return undefined;
  return { why, owner, encoding, collate, ctype, side: sp, old: op };
}

export type SidePlan =
  | { kind: 'side'; names: SideNames; facts: SideFacts; stale: Array<'side' | 'old'> }
  | { kind: 'in-place'; why: string };

/** Whether the restore goes through a side database, and which stale ones of ours (a restore cut short) go first. */
export function planSide(db: string, facts: SideFacts | undefined): SidePlan {
  if (!facts) return { kind: 'in-place', why: `database ${db} was not found in pg_database` };
  if (facts.why) return { kind: 'in-place', why: facts.why };
  const names = sideNames(db);
  for (const k of ['side', 'old'] as const) {
    if (facts[k] === 'other') return { kind: 'in-place', why: `a database ${names[k]} exists that phase-compose did not make` };
  }
  return { kind: 'side', names, facts, stale: (['side', 'old'] as const).filter((k) => facts[k] === 'ours') };
}

/** Variables for the SQL below. */
export const sideVars = (db: string, p: Extract<SidePlan, { kind: 'side' }>): Record<string, string> => ({
  db, side: p.names.side, old: p.names.old, owner: p.facts.owner, encoding: p.facts.encoding, collate: p.facts.collate, ctype: p.facts.ctype,
  side_mark: sideMark(db), old_mark: oldMark(db),
});

/** Drops stale side databases of ours, then creates the side database, empty, marked. Run connected to the live database. */
export function createSideSql(p: Extract<SidePlan, { kind: 'side' }>): string {
  return [
    ...p.stale.map((k) => `DROP DATABASE IF EXISTS :"${k}";`),
    `CREATE DATABASE :"side" TEMPLATE template0 OWNER :"owner" ENCODING :'encoding' LC_COLLATE :'collate' LC_CTYPE :'ctype';`,
    `COMMENT ON DATABASE :"side" IS :'side_mark';`,
    '',
  ].join('\n');
}

/**
 * The swap, in one transaction: the live database gets the old name (and its mark), the side one the live
 * name (its mark removed). A session still connected to either makes it fail after PostgreSQL's own 5 s
 * wait for them, and the transaction leaves both as they were. Run connected to the maintenance database.
 */
export const SWAP_SQL = `BEGIN;
ALTER DATABASE :"db" RENAME TO :"old";
COMMENT ON DATABASE :"old" IS :'old_mark';
ALTER DATABASE :"side" RENAME TO :"db";
COMMENT ON DATABASE :"db" IS NULL;
COMMIT;
`;

/** Drops the database the variable `name` names (`side` or `old`). Run connected to the maintenance database. */
export const dropSql = (name: 'side' | 'old') => `DROP DATABASE IF EXISTS :"${name}";\n`;

/** dropdb of `name`, connected to the live database (never the one dropped); `--` so no name reads as an option. */
export const dropdbArgv = (pg: { user: string; db: string }, name: string): string[] =>
  ['dropdb', '-U', pg.user, '--maintenance-db', pg.db, '--', name];
