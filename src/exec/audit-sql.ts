// SQL for Phase's audit log (api_secretevent → environment → app → organisation). Pure strings: every value
// is a psql variable (`:'org'`, `:'table'`), bound with `-v name=value` by the caller, never spliced in.

/** Sizes and tuple counts of one table; variable `table` (may be schema-qualified). */
export const SIZE_SQL = `SELECT pg_relation_size(c.oid), pg_indexes_size(c.oid), pg_total_relation_size(c.oid),
  coalesce(s.n_live_tup, 0), coalesce(s.n_dead_tup, 0)
FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.oid = to_regclass(:'table');
`;

/** 1 when the organisation exists, then 1 when the app (variable `app`, '' for none) belongs to it. */
export const ORG_APP_SQL = `SELECT (SELECT count(*) FROM api_organisation WHERE name = :'org'),
  (SELECT count(*) FROM api_app a JOIN api_organisation o ON o.id = a.organisation_id WHERE o.name = :'org' AND a.id = :'app');
`;

/** READ events the purge would delete: same scope and cutoff as purge_app_logs (timestamp <= now - retain days). */
export const PURGE_COUNT_SQL = `SELECT count(*) FROM api_secretevent e
  JOIN api_environment v ON v.id = e.environment_id
  JOIN api_app a ON a.id = v.app_id
  JOIN api_organisation o ON o.id = a.organisation_id
WHERE o.name = :'org' AND (:'app' = '' OR a.id = :'app')
  AND e.event_type = 'R' AND e.timestamp <= now() - make_interval(days => :'retain'::int);
`;

/**
 * `VACUUM (ANALYZE)` or `VACUUM FULL ANALYZE` (locks the table) of variable `table`, named as SIZE_SQL
 * finds it: to_regclass parses it (schema-qualified, quoted) and regclass's text quotes it again as the
 * statement needs. Before 2026-11-29 it was `:"table"`, one quoted identifier: report.table
 * public.api_secretevent passed the size check, the purge deleted, then VACUUM failed (exit 4, no report).
 * A name that does not resolve vacuums nothing (never the whole database).
 */
export const vacuumSql = (full: boolean) =>
  `SELECT format('${full ? 'VACUUM FULL ANALYZE' : 'VACUUM (ANALYZE)'} %s', to_regclass(:'table')) WHERE to_regclass(:'table') IS NOT NULL \\gexec\n`;

export type TableSize = { data: number; indexes: number; total: number; live: number; dead: number };

/** Parses the SIZE_SQL row; undefined when the table does not exist. */
export function parseTableSize(rows: string[][]): TableSize | undefined {
  const r = rows[0];
  if (!r || r.length < 5 || r[0] === '') return undefined;
  const [data, indexes, total, live, dead] = r.map(Number) as [number, number, number, number, number];
  return { data, indexes, total, live, dead };
}

/** 1536 → "1.5 kB" (powers of 1024, like pg_size_pretty). */
export function prettyBytes(n: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

const signed = (n: number, f: (n: number) => string) => (n > 0 ? `+${f(n)}` : n < 0 ? `-${f(-n)}` : '0');

/** The size report: one line per measure, with before → after and the change when `after` is given. */
export function formatSizeReport(table: string, before: TableSize, after?: TableSize): string[] {
  const rows: Array<[string, keyof TableSize, (n: number) => string]> = [
    ['data', 'data', prettyBytes],
    ['indexes', 'indexes', prettyBytes],
    ['total', 'total', prettyBytes],
    ['live rows', 'live', String],
    ['dead rows', 'dead', String],
  ];
  const head = after ? `size of ${table}: before -> after (change)` : `size of ${table}:`;
  return [
    head,
    ...rows.map(([label, k, f]) =>
      after ? `  ${label.padEnd(10)} ${f(before[k]).padStart(10)} -> ${f(after[k]).padStart(10)} (${signed(after[k] - before[k], f)})` : `  ${label.padEnd(10)} ${f(before[k]).padStart(10)}`,
    ),
  ];
}
