// The whole-instance archive, pure parts: its members, the metadata and manifest it carries, and the rules
// that check them. One tar (encrypted as a whole unless --no-encrypt), members in this order:
//
//   phase-compose-backup.json   what was backed up: project, time, PostgreSQL version, images, migrations
//   stack/<path>                the spec, the env file(s) (whole, or only backups.env's keys), generated files
//   db/dump.000001 ...          pg_dump -Fc, cut into chunks of at most CHUNK_BYTES: a stream's length is not
//                               known in advance, and a tar member needs it in its header. `cat db/dump.*`
//                               is the dump.
//   MANIFEST.json               last: the sha256 and size of every member before it, and of the whole dump.
import { posix } from 'node:path';
import { pickEnvLines, refersToVariables } from '../init/env-file.js';
import { PhaseComposeError } from '../util/errors.js';
import { byCodePoint } from '../util/compare.js';

export const FORMAT = 'phase-compose-backup/1';
export const META_MEMBER = 'phase-compose-backup.json';
export const MANIFEST_MEMBER = 'MANIFEST.json';
export const STACK_PREFIX = 'stack/';
export const DUMP_PREFIX = 'db/dump.';
/** Dump chunk size: the most of the dump held in memory at once. */
export const CHUNK_BYTES = 8 << 20;
/** Largest metadata or stack member read (they are held in memory): a bound on hostile input. */
export const MAX_SMALL_MEMBER = 16 << 20;
/**
 * All of them together, and how many: each is held until the read ends (until 2026-11-28 only each one
 * was bounded, and a tar of many 16 MiB members was held whole).
 */
export const MAX_SMALL_TOTAL = 64 << 20;
export const MAX_SMALL_MEMBERS = 10_000;
/** Stamped archives: `<project>-<UTC time>.pcbak`. */
export const ARCHIVE_EXT = '.pcbak';

export type ImageInfo = { service: string; image: string; id: string; digests: string[]; version?: string };
export type Migration = { app: string; name: string };

export type BackupMeta = {
  format: typeof FORMAT;
  created: string;
  project: string;
  /** Spec file name inside stack/. */
  spec: string;
  /** Env files inside stack/ (paths relative to the spec); `keys`: only these keys were kept. */
  env: { files: string[]; keys?: string[] };
  /** Generated files inside stack/. */
  generated: string[];
  /**
   * The proxy's TLS files (`proxy.tls`), by the paths the spec gives: `files` inside stack/ (`secret`: the
   * key, written back 0600); `outside`, the spec's directory, not archived (restore --dir needs them on
   * the new host first). Absent in archives made before 2026-11-29, which held neither.
   */
  tls?: { files: string[]; secret: string[]; outside: string[] };
  postgres: { version: string; database: string };
  images: ImageInfo[];
  /** The app's version: the image label org.opencontainers.image.version of the migrations' image, if any. */
  appVersion?: string;
  /** Every applied Django migration (django_migrations), in the order applied. */
  migrations: Migration[];
};

export type ManifestEntry = { name: string; size: number; sha256: string };
export type Manifest = { format: typeof FORMAT; members: ManifestEntry[]; dump: { bytes: number; sha256: string; chunks: number } };

/** The n-th (1-based) dump chunk's member name; sorts in order up to 999999 chunks (8 TB). */
export const dumpChunkName = (n: number): string => `${DUMP_PREFIX}${String(n).padStart(6, '0')}`;

/**
 * A relative path from the archive, checked before anything is written with it: no absolute path, no
 * `..`, no empty or `.` segment, no backslash or NUL. Returns it normalised.
 */
export function safeRelativePath(p: string): string {
  const n = posix.normalize(p);
  if (!p || p.includes('\0') || p.includes('\\') || posix.isAbsolute(p) || n !== p || n.split('/').some((s) => s === '..' || s === '.' || s === '')) {
    throw new PhaseComposeError('problem', `the archive names an unsafe path: ${JSON.stringify(p)}`, { details: ['it was not written by phase-compose, or it was altered'] });
  }
  return n;
}

/** The newest applied migration of each app, `app.name`, sorted by app. */
export function newestMigrations(ms: readonly Migration[]): string[] {
  const last = new Map<string, string>();
  for (const m of ms) last.set(m.app, m.name);
  return [...last.entries()].sort(([a], [b]) => byCodePoint(a, b)).map(([a, n]) => `${a}.${n}`);
}

/** Migrations applied in the live database that the archive does not know (`app.name`). */
export function unknownMigrations(live: readonly Migration[], archived: readonly Migration[]): string[] {
  const known = new Set(archived.map((m) => `${m.app}.${m.name}`));
  return live.map((m) => `${m.app}.${m.name}`).filter((k) => !known.has(k));
}

/** The refusal for a live database newer than the archive. */
export function newerDatabaseError(unknown: readonly string[]): PhaseComposeError {
  return new PhaseComposeError('problem', `the live database has ${unknown.length} migration${unknown.length === 1 ? '' : 's'} the archive does not know: it is newer than the backup`, {
    details: [
      ...unknown.slice(0, 10).map((m) => `applied since the backup: ${m}`),
      ...(unknown.length > 10 ? [`... and ${unknown.length - 10} more`] : []),
      'migrations are one-way: the app now running expects that schema, and the restored data lacks it',
      'nothing was changed; pass --force to restore anyway (then run the app version the archive was made with)',
    ],
  });
}

/**
 * Keeps only `keys` of an env file, each one's definition as written, line for line: Compose then reads
 * it as it read the original (until 2026-11-28 the values were written anew from dotenv's reading, and
 * `K=ab$cd`, which Compose 2 reads as "ab", came back as 'ab$cd'). A value that refers to other
 * variables is refused: the new file would not hold them.
 */
export function pickEnv(text: string, keys: readonly string[]): string {
  const { lines, entries } = pickEnvLines(text, keys);
  const refers = entries.filter(refersToVariables).map((e) => e.key);
  if (refers.length) {
    throw new PhaseComposeError('problem', `backups.env: the value of ${refers.join(', ')} refers to other variables (\`$\`), which the archive's env file would not hold`, {
      details: ['write it out in single quotes, or leave backups.env out: the whole env file then travels byte for byte'],
    });
  }
  return `# Only the keys backups.env lists (from phase-compose backup): add the rest before \`up\`.\n${lines.join('\n')}\n`;
}

/** Builds the manifest from the members as written. */
export function buildManifest(members: ManifestEntry[], dump: Manifest['dump']): Manifest {
  return { format: FORMAT, members, dump };
}

/** The manifest as the writer prints it (read back whole: at most MAX_SMALL_MEMBER). Pure. */
export const manifestText = (m: Manifest): string => `${JSON.stringify(m, null, 2)}\n`;

/**
 * The bytes one member adds to the printed manifest, at most: its lines indented by four more spaces (it
 * sits in `members`, two levels down) and a comma and line break after it. Pure.
 */
export function manifestEntryBytes(e: ManifestEntry): number {
  const s = JSON.stringify(e, null, 2);
  return Buffer.byteLength(s) + 4 * s.split('\n').length + 2;
}

/** The printed manifest's bytes besides its members, at most (the dump's numbers at their largest; 8 for the members' brackets). */
export const MANIFEST_FRAME_BYTES =
  Buffer.byteLength(manifestText(buildManifest([], { bytes: Number.MAX_SAFE_INTEGER, sha256: 'f'.repeat(64), chunks: Number.MAX_SAFE_INTEGER }))) + 8;

const damaged = (what: string, details: string[] = []) =>
  new PhaseComposeError('problem', `the archive is damaged: ${what}`, { details: [...details, 'nothing was changed'] });

/**
 * Compares what was read (every member but the manifest, in order) with the manifest: same names, order,
 * sizes and hashes, and a dump whose hash and length match. Throws a PhaseComposeError (a problem) naming
 * the first difference.
 */
export function checkManifest(m: Manifest, seen: readonly ManifestEntry[], dump: Manifest['dump']): void {
  if (m.format !== FORMAT) throw damaged(`unknown format ${JSON.stringify(m.format)} (this phase-compose reads ${FORMAT})`);
  if (m.members.length !== seen.length) throw damaged(`the manifest lists ${m.members.length} members, the archive holds ${seen.length}`);
  m.members.forEach((want, i) => {
    const got = seen[i]!;
    if (want.name !== got.name) throw damaged(`member ${i + 1} is ${got.name}, the manifest says ${want.name}`);
    if (want.size !== got.size || want.sha256 !== got.sha256) {
      throw damaged(`checksum mismatch in ${got.name}`, [`expected ${want.sha256} (${want.size} bytes)`, `actual   ${got.sha256} (${got.size} bytes)`]);
    }
  });
  if (m.dump.sha256 !== dump.sha256 || m.dump.bytes !== dump.bytes || m.dump.chunks !== dump.chunks) {
    throw damaged('the database dump does not match the manifest', [`expected ${m.dump.sha256} (${m.dump.bytes} bytes)`, `actual   ${dump.sha256} (${dump.bytes} bytes)`]);
  }
}

/** Parses and shape-checks the metadata member. */
export function parseMeta(text: string): BackupMeta {
  const m = parseJson(text, META_MEMBER) as Partial<BackupMeta>;
  if (!isObj(m)) throw damaged(`${META_MEMBER} is not an object`);
  if (m.format !== FORMAT) throw damaged(`unknown format ${JSON.stringify(m.format)} (this phase-compose reads ${FORMAT})`);
  // Every entry too (until 2026-11-28 only the arrays: `"migrations": [null]` was a TypeError later, an
  // "unexpected error", exit 1).
  const ok = typeof m.project === 'string' && typeof m.spec === 'string' && typeof m.created === 'string' &&
    arrayOf(m.migrations, (x) => isStr(x.app) && isStr(x.name)) &&
    arrayOf(m.images, (x) => isStr(x.service) && isStr(x.image) && isStr(x.id) && Array.isArray(x.digests) && x.digests.every(isStr) && (x.version === undefined || isStr(x.version))) &&
    Array.isArray(m.generated) && m.generated.every(isStr) && isObj(m.env) && Array.isArray(m.env.files) && m.env.files.every(isStr) &&
    (m.env.keys === undefined || (Array.isArray(m.env.keys) && m.env.keys.every(isStr))) &&
    isObj(m.postgres) && isStr(m.postgres.version) && isStr(m.postgres.database) && (m.appVersion === undefined || isStr(m.appVersion)) &&
    (m.tls === undefined || (isObj(m.tls) && [m.tls.files, m.tls.secret, m.tls.outside].every((a) => Array.isArray(a) && a.every(isStr))));
  if (!ok) throw damaged(`${META_MEMBER} lacks fields`);
  return m as BackupMeta;
}

const isStr = (x: unknown): x is string => typeof x === 'string';
const isObj = (x: unknown): x is Record<string, any> => typeof x === 'object' && x !== null && !Array.isArray(x); // eslint-disable-line @typescript-eslint/no-explicit-any
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
/** An array whose every element is an object that `ok` accepts. */
const arrayOf = (a: unknown, ok: (x: Record<string, any>) => boolean): boolean => Array.isArray(a) && a.every((x) => isObj(x) && ok(x)); // eslint-disable-line @typescript-eslint/no-explicit-any

/** Parses and shape-checks the manifest member, every entry. */
export function parseManifest(text: string): Manifest {
  const m = parseJson(text, MANIFEST_MEMBER) as Partial<Manifest>;
  const ok = isObj(m) && arrayOf(m.members, (x) => isStr(x.name) && isCount(x.size) && isStr(x.sha256)) &&
    isObj(m.dump) && isStr(m.dump.sha256) && isCount(m.dump.bytes) && isCount(m.dump.chunks);
  if (!ok) throw damaged(`${MANIFEST_MEMBER} lacks fields`);
  return m as Manifest;
}

function parseJson(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw damaged(`${name} is not JSON (${(e as Error).message})`);
  }
}
