import { describe, expect, it } from 'vitest';
import {
  CHUNK_BYTES, FORMAT, MANIFEST_FRAME_BYTES, MAX_SMALL_MEMBER, buildManifest, checkManifest, dumpChunkName, manifestEntryBytes, manifestText, newerDatabaseError, newestMigrations, parseManifest, parseMeta, pickEnv, safeRelativePath, unknownMigrations,
} from '../../../src/backup/archive.js';
import { parseEnvFile } from '../../../src/init/env-file.js';
import { expiredBackups, backupFileName } from '../../../src/backup/rotation.js';

const m = (app: string, name: string) => ({ app, name });

describe('archive rules', () => {
  it('paths from an archive: relative, normalised, inside', () => {
    expect(safeRelativePath('phase-compose.yaml')).toBe('phase-compose.yaml');
    expect(safeRelativePath('nginx/default.conf')).toBe('nginx/default.conf');
    for (const bad of ['', '/etc/passwd', '../x', 'a/../../x', './x', 'a//b', 'a\\b', 'a\0b', 'a/.', 'x/..']) {
      expect(() => safeRelativePath(bad), bad).toThrow(/unsafe path/);
    }
  });

  it('dump chunks sort in order', () => {
    expect(dumpChunkName(1)).toBe('db/dump.000001');
    expect([dumpChunkName(10), dumpChunkName(9)].sort()).toEqual([dumpChunkName(9), dumpChunkName(10)]);
  });

  it('migrations: the newest per app, and those the archive does not know', () => {
    const archived = [m('api', '0001_initial'), m('vault', '0001_initial'), m('api', '0002_more')];
    expect(newestMigrations(archived)).toEqual(['api.0002_more', 'vault.0001_initial']);
    expect(unknownMigrations(archived, archived)).toEqual([]);
    expect(unknownMigrations([...archived, m('api', '0003_new')], archived)).toEqual(['api.0003_new']);
    // An older live database (the archive knows more) is fine: restoring brings it forward.
    expect(unknownMigrations(archived.slice(0, 1), archived)).toEqual([]);
    const e = newerDatabaseError(['api.0003_new']);
    expect(e.kind).toBe('problem');
    expect(e.message).toBe('the live database has 1 migration the archive does not know: it is newer than the backup');
    expect(e.details.join('\n')).toContain('migrations are one-way');
  });

  it('backups.env keeps only the listed keys, each definition as written (Compose reads it as before)', () => {
    const env = [
      '# the app', 'SECRET_KEY="a b \\"c\\""', 'OTHER=x', "SERVER_SECRET='ff$00'", 'PASS=pa$$word # note',
      'CERT="-----BEGIN-----', 'abc', '-----END-----"', 'SECRET_KEY="the last one wins"', '',
    ].join('\n');
    const text = pickEnv(env, ['SECRET_KEY', 'SERVER_SECRET', 'PASS', 'CERT']);
    expect(text.split('\n').slice(1)).toEqual([
      "SERVER_SECRET='ff$00'", 'PASS=pa$$word # note', 'CERT="-----BEGIN-----', 'abc', '-----END-----"', 'SECRET_KEY="the last one wins"', '',
    ]);
    expect(parseEnvFile(text)).toEqual({ SECRET_KEY: 'the last one wins', SERVER_SECRET: 'ff$00', PASS: 'pa$$word', CERT: '-----BEGIN-----\nabc\n-----END-----' });
    // Until 2026-11-28 `K=ab$cd` was written anew as 'ab$cd': Compose 2 had read "ab" ($cd expanded).
    for (const line of ['K=ab$cd', 'K="${OTHER}x"', "K='${OTHER}'"]) {
      expect(() => pickEnv(`${line}\n`, ['K']), line).toThrow('backups.env: the value of K refers to other variables (`$`), which the archive\'s env file would not hold');
    }
  });

  it('the manifest check names the first difference', () => {
    const members = [{ name: 'phase-compose-backup.json', size: 2, sha256: 'a' }, { name: 'db/dump.000001', size: 3, sha256: 'b' }];
    const dump = { bytes: 3, sha256: 'c', chunks: 1 };
    const man = buildManifest(members, dump);
    expect(() => checkManifest(man, members, dump)).not.toThrow();
    expect(() => checkManifest(man, [members[0]!, { ...members[1]!, sha256: 'x' }], dump)).toThrow('the archive is damaged: checksum mismatch in db/dump.000001');
    expect(() => checkManifest(man, members.slice(0, 1), dump)).toThrow('the manifest lists 2 members, the archive holds 1');
    expect(() => checkManifest(man, members, { ...dump, bytes: 2 })).toThrow('the database dump does not match the manifest');
    expect(() => checkManifest({ ...man, format: 'other' as typeof FORMAT }, members, dump)).toThrow(/unknown format/);
  });

  it('metadata of another format or lacking fields is refused', () => {
    expect(() => parseMeta('{')).toThrow(/is not JSON/);
    expect(() => parseMeta(JSON.stringify({ format: 'x' }))).toThrow(/unknown format/);
    expect(() => parseMeta(JSON.stringify({ format: FORMAT }))).toThrow(/lacks fields/);
    // Every entry is checked, not only the arrays (before: a TypeError later, "unexpected error", exit 1).
    expect(() => parseMeta('null')).toThrow('the archive is damaged: phase-compose-backup.json is not an object');
    const good = { format: FORMAT, project: 'p', spec: 's.yaml', created: 'x', migrations: [{ app: 'a', name: 'n' }], images: [], generated: [], env: { files: ['.env'] }, postgres: { version: '15', database: 'd' } };
    expect(parseMeta(JSON.stringify(good)).project).toBe('p');
    for (const bad of [{ migrations: [null] }, { images: [{ service: 's' }] }, { env: { files: [1] } }, { generated: [{}] }, { postgres: { version: 15, database: 'd' } }]) {
      expect(() => parseMeta(JSON.stringify({ ...good, ...bad })), JSON.stringify(bad)).toThrow(/lacks fields/);
    }
    const man = { format: FORMAT, members: [{ name: 'm', size: 1, sha256: 'a' }], dump: { bytes: 1, sha256: 'b', chunks: 1 } };
    expect(parseManifest(JSON.stringify(man)).members).toHaveLength(1);
    for (const bad of [{ members: [null] }, { members: [{ name: 'm', size: -1, sha256: 'a' }] }, { dump: { bytes: 1, sha256: 'b' } }, { dump: null }]) {
      expect(() => parseManifest(JSON.stringify({ ...man, ...bad })), JSON.stringify(bad)).toThrow('the archive is damaged: MANIFEST.json lacks fields');
    }
    expect(() => parseManifest('7')).toThrow(/lacks fields/);
  });

  it('archives rotate apart from plain dumps', () => {
    const now = new Date('2026-11-26T08:00:00Z');
    expect(backupFileName('phase', now, '.pcbak')).toBe('phase-20261126T080000Z.pcbak');
    const names = ['phase-20261124T080000Z.pcbak', 'phase-20261125T080000Z.pcbak', 'phase-20261126T080000Z.pcbak', 'phase-20261101T080000Z.dump', '.phase-20261120T080000Z.pcbak.1.ab.tmp'];
    expect(expiredBackups(names, 'phase', 2, '.pcbak')).toEqual(['phase-20261124T080000Z.pcbak']);
    expect(expiredBackups(names, 'phase', 2)).toEqual([]);
    // The one just written is never deleted, whatever its stamp (a clock stepped back, archives copied in):
    // it counts as one of those kept. Before, it was the oldest by name and went at once.
    const later = ['phase-20261201T080000Z.pcbak', 'phase-20261202T080000Z.pcbak', 'phase-20261128T100000Z.pcbak'];
    expect(expiredBackups(later, 'phase', 2, '.pcbak', 'phase-20261128T100000Z.pcbak')).toEqual(['phase-20261201T080000Z.pcbak']);
    expect(expiredBackups(later, 'phase', 1, '.pcbak', 'phase-20261128T100000Z.pcbak')).toEqual(['phase-20261202T080000Z.pcbak', 'phase-20261201T080000Z.pcbak']);
    expect(expiredBackups(names, 'phase', 2, '.pcbak', 'phase-20261126T080000Z.pcbak')).toEqual(['phase-20261124T080000Z.pcbak']);
  });

  it('the manifest\'s printed size is bounded by its frame and its members\' bytes, within a few bytes; 8 MiB chunks reach the read limit near 0.85 TiB', () => {
    const e = (name: string, size: number) => ({ name, size, sha256: 'ab'.repeat(32) });
    const dumps = [{ bytes: 0, sha256: 'e3'.repeat(32), chunks: 0 }, { bytes: 123456789012, sha256: 'cd'.repeat(32), chunks: 14718 }];
    // Names a stack may hold: quoted, backslashed, a control character (printed as \u0001: six bytes), and
    // non-ASCII (two to four bytes a character in UTF-8, one or two UTF-16 units: 100 euro signs are 300
    // bytes and 100 units, more than the bound's slack, so a bound counting units fails here).
    const odd = [e('stack/a "quoted" \\ name', 7), e('stack/ctl\u0001.env', 3), e(`stack/é${'€'.repeat(100)}😀/.env`, 9)];
    for (const members of [[], [e('phase-compose-backup.json', 812)], [e('phase-compose-backup.json', 812), ...odd, e(dumpChunkName(1), CHUNK_BYTES), e(dumpChunkName(2), 5)]]) {
      for (const dump of dumps) {
        const printed = Buffer.byteLength(manifestText(buildManifest(members, dump))); // what the reader's limit counts
        const bound = MANIFEST_FRAME_BYTES + members.reduce((n, x) => n + manifestEntryBytes(x), 0);
        expect(printed).toBeLessThanOrEqual(bound);
        expect(bound - printed).toBeLessThan(64); // not so loose that it refuses a dump that fits
      }
    }
    const perChunk = manifestEntryBytes(e(dumpChunkName(99999), CHUNK_BYTES));
    expect(perChunk).toBe(151);
    const tib = (Math.floor((MAX_SMALL_MEMBER - MANIFEST_FRAME_BYTES) / perChunk) * CHUNK_BYTES) / 2 ** 40;
    expect(tib).toBeGreaterThan(0.84);
    expect(tib).toBeLessThan(0.86);
  });
});
