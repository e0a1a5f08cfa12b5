// Facts about a running instance that an archive records and a restore compares: PostgreSQL's version,
// the applied Django migrations, the images of the project's containers; and row counts per table.
import type { DockerClient } from '../docker/client.js';
import { listProject } from '../docker/containers.js';
import { L_SERVICE } from '../docker/labels.js';
import { runSql, type PgTarget } from '../exec/postgres.js';
import type { ImageInfo, Migration } from './archive.js';

/** `SHOW server_version`, e.g. `15.4 (Debian 15.4-1)`. */
export async function serverVersion(docker: DockerClient, pg: PgTarget): Promise<string> {
  return (await runSql(docker, pg, 'SHOW server_version;', {}, 'reading the server version'))[0]?.[0] ?? '';
}

/** Every applied migration in the order applied; none when the database has no django_migrations table. */
export async function appliedMigrations(docker: DockerClient, pg: PgTarget): Promise<Migration[]> {
  const [[exists] = []] = await runSql(docker, pg, `SELECT to_regclass('public.django_migrations') IS NOT NULL;`, {}, 'looking for django_migrations');
  if (exists !== 't') return [];
  const rows = await runSql(docker, pg, 'SELECT app, name FROM django_migrations ORDER BY id;', {}, 'reading django_migrations');
  return rows.map(([app, name]) => ({ app: app!, name: name! }));
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
  for (const c of await listProject(docker, project)) {
    const service = c.Labels[L_SERVICE];
    if (!service || byService.has(service)) continue;
    const info = await docker.getImage(c.ImageID).inspect().catch(() => undefined);
    const version = info?.Config?.Labels?.['org.opencontainers.image.version'];
    byService.set(service, { service, image: c.Image, id: c.ImageID, digests: info?.RepoDigests ?? [], ...(version ? { version } : {}) });
  }
  return [...byService.values()].sort((a, b) => a.service.localeCompare(b.service));
}
