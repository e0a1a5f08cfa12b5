// `restore --dir`'s files from the archive (no Docker): written into a new directory (env files 0600), a
// file already holding the archive's bytes left alone, and anything else at a path refused by name and
// kind with nothing written.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FORMAT, type BackupMeta } from '../../../src/backup/archive.js';
import type { ArchiveContents } from '../../../src/backup/archive-io.js';
import { RESTORE_MARK_FILE, dataKeys, markVolumes, projectInUse, readRestoreMark, unmarkRestoring, scratchImage, writeStackFromArchive } from '../../../src/backup/archive-restore.js';
import { PhaseComposeError } from '../../../src/util/errors.js';

const root = mkdtempSync(join(tmpdir(), 'pc-restore-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const meta: BackupMeta = {
  format: FORMAT, created: '2026-11-28T03:00:00.000Z', project: 'p', spec: 'phase-compose.yaml', env: { files: ['.env'] }, generated: ['docker-compose.yml'],
  postgres: { version: '15.4', database: 'phase' }, images: [], migrations: [],
};
const contents = (files: Record<string, string>): ArchiveContents => ({
  meta,
  files: new Map(Object.entries(files).map(([k, v]) => [k, Buffer.from(v)])),
  manifest: { format: FORMAT, members: [], dump: { bytes: 0, sha256: '', chunks: 0 } },
  encrypted: true,
});
const archive = contents({ 'phase-compose.yaml': 'name: p\n', '.env': 'SECRET_KEY=k\n', 'docker-compose.yml': 'services: {}\n' });
let n = 0;
const fresh = () => join(root, `d${++n}`);
const refusal = (dir: string, c = archive, mark?: string): PhaseComposeError => {
  try {
    writeStackFromArchive(dir, c, mark);
  } catch (e) {
    expect(e).toBeInstanceOf(PhaseComposeError);
    return e as PhaseComposeError;
  }
  throw new Error('expected a refusal');
};

describe('writeStackFromArchive', () => {
  it('writes the spec, the env file (0600) and the generated files into a new directory (0700)', () => {
    const dir = fresh();
    expect(writeStackFromArchive(dir, archive).written.sort()).toEqual([join(dir, '.env'), join(dir, 'docker-compose.yml'), join(dir, 'phase-compose.yaml')]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, '.env')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'phase-compose.yaml')).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(dir, '.env'), 'utf8')).toBe('SECRET_KEY=k\n');
  });

  it('a file that holds the archive\'s very bytes is left alone (a restore run again after a later failure)', () => {
    const dir = fresh();
    mkdirSync(dir);
    writeFileSync(join(dir, 'phase-compose.yaml'), 'name: p\n');
    expect(writeStackFromArchive(dir, archive).written.sort()).toEqual([join(dir, '.env'), join(dir, 'docker-compose.yml')]);
  });

  it('refuses, naming each path and what is there, and writes nothing: other bytes, a directory, a symbolic link', () => {
    const dir = fresh();
    mkdirSync(dir);
    writeFileSync(join(dir, '.env'), 'SECRET_KEY=other\n');
    mkdirSync(join(dir, 'docker-compose.yml'));
    symlinkSync('/etc/hostname', join(dir, 'phase-compose.yaml'));
    const e = refusal(dir);
    expect(e.message).toBe(`refusing to overwrite files in ${dir}`);
    expect(e.details).toEqual([
      `exists: ${join(dir, 'phase-compose.yaml')} (a symbolic link)`,
      `exists: ${join(dir, '.env')}`,
      `exists: ${join(dir, 'docker-compose.yml')} (a directory)`,
      'restore --dir builds a new stack: name an empty or new directory; nothing was written',
    ]);
    expect(readFileSync(join(dir, '.env'), 'utf8')).toBe('SECRET_KEY=other\n');
  });

  it('with backups.env, an env file put in DIR first is kept when it defines the archived keys as the archive does', () => {
    // Until 2026-11-29 it was refused as "exists", although the README told users to do exactly that
    // (restore --dir runs up itself: the rest of the settings cannot be added after it).
    const partial: ArchiveContents = { ...contents({ 'phase-compose.yaml': 'name: p\n', '.env': 'SECRET_KEY=k\nSERVER_SECRET="s s"\n' }), meta: { ...meta, env: { files: ['.env'], keys: ['SECRET_KEY', 'SERVER_SECRET'] } } };
    const dir = fresh();
    mkdirSync(dir);
    const theirs = '# the rest of the settings\nSMTP_HOST=mail\nSERVER_SECRET=\'s s\'\nexport SECRET_KEY=k\n';
    writeFileSync(join(dir, '.env'), theirs);
    expect(writeStackFromArchive(dir, partial)).toEqual({ written: [join(dir, 'phase-compose.yaml')], kept: [join(dir, '.env')] });
    expect(readFileSync(join(dir, '.env'), 'utf8')).toBe(theirs);

    // One that lacks a key, or defines one otherwise, is refused by key name (never by value), nothing written.
    const other = fresh();
    mkdirSync(other);
    writeFileSync(join(other, '.env'), 'SECRET_KEY=wrong\nSMTP_HOST=mail\n');
    const e = refusal(other, partial);
    expect(e.details[0]).toBe(`exists: ${join(other, '.env')}: lacks SERVER_SECRET; defines SECRET_KEY otherwise than the archive (the restored data needs the archive's values)`);
    expect(e.details.join('\n')).not.toContain('wrong');
    expect(readdirSync(other)).toEqual(['.env']);

    // Without backups.env the whole file travels: any other bytes are refused, as before.
    const whole = fresh();
    mkdirSync(whole);
    writeFileSync(join(whole, '.env'), 'SECRET_KEY=k\nSMTP_HOST=mail\n');
    expect(refusal(whole).details[0]).toBe(`exists: ${join(whole, '.env')}`);
  });

  it('a write that fails removes the files and every directory this run made, and only those', () => {
    // The temp name (.<name>.<pid>.<hex>.tmp) of a 250-byte name is longer than a file name may be:
    // the write fails after the spec is written and nested/deeper/ is made.
    const parent = fresh();
    const dir = join(parent, 'new', 'stack');
    mkdirSync(parent);
    writeFileSync(join(parent, 'theirs'), 'kept\n');
    const long = `nested/deeper/${'x'.repeat(250)}`;
    const e = refusal(dir, contents({ 'phase-compose.yaml': 'name: p\n', [long]: 'y\n' }));
    expect(e.message).toMatch(new RegExp(`^could not write ${join(dir, 'nested/deeper/x')}x+: `));
    expect(e.details).toContain('the 1 file(s) this restore had written were removed; nothing else was changed');
    expect(readdirSync(parent)).toEqual(['theirs']);
  });

  it('a path under a file (not a directory) is refused before anything is written', () => {
    const dir = fresh();
    writeFileSync(dir, 'a file where the directory should be');
    expect(refusal(dir).details?.[0]).toMatch(new RegExp(`^exists: ${join(dir, 'phase-compose.yaml')} \\(unreadable: ENOTDIR`));
    expect(readFileSync(dir, 'utf8')).toBe('a file where the directory should be');
  });

  it('an archive without its spec is refused', () => {
    const dir = fresh();
    expect(refusal(dir, contents({ '.env': 'A=1\n' })).message).toBe('the archive lacks its spec stack/phase-compose.yaml');
    expect(existsSync(dir)).toBe(false);
  });
});

describe('writeStackFromArchive run again after a later failure', () => {
  it('writes over a generated file phase-compose wrote there (rendered anew meanwhile), never over another', () => {
    // Until 2026-11-29 the run again was refused over docker-compose.yml, which the failed run had
    // rendered anew from the spec (an archive from an older phase-compose), though its error said to run it again.
    const gen = contents({ 'phase-compose.yaml': 'name: p\n', '.env': 'SECRET_KEY=k\n', 'docker-compose.yml': '# Generated by phase-compose from phase-compose.yaml\nservices: {}\n' });
    const dir = fresh();
    writeStackFromArchive(dir, gen);
    writeFileSync(join(dir, 'docker-compose.yml'), '# Generated by phase-compose from phase-compose.yaml\nservices: { web: {} }\n');
    expect(writeStackFromArchive(dir, gen).written).toEqual([join(dir, 'docker-compose.yml')]);
    expect(readFileSync(join(dir, 'docker-compose.yml'), 'utf8')).toBe('# Generated by phase-compose from phase-compose.yaml\nservices: {}\n');
    // Without the header it is the user's: refused, as before; and the spec is no generated file.
    writeFileSync(join(dir, 'docker-compose.yml'), 'services: { mine: {} }\n');
    expect(refusal(dir, gen).details.join('\n')).toContain(`exists: ${join(dir, 'docker-compose.yml')}`);
    writeFileSync(join(dir, 'docker-compose.yml'), '# Generated by phase-compose from phase-compose.yaml\nservices: {}\n');
    writeFileSync(join(dir, 'phase-compose.yaml'), '# Generated by phase-compose\nname: q\n');
    expect(refusal(dir, gen).details.join('\n')).toContain(`exists: ${join(dir, 'phase-compose.yaml')}`);
  });
});

describe('projectInUse: restore --dir never starts its postgres in another stack\'s project', () => {
  const vol = (name: string, created = '2026-11-29T10:00:00Z') => ({ name, created });
  it('names containers made from elsewhere, and volumes when none was made from DIR', () => {
    // Until 2026-11-29 `restore --dir` ran `compose up postgres` under the archived project name first.
    const live = { name: 'phase-postgres-1', state: 'running', workingDir: '/srv/phase' };
    expect(projectInUse('phase', '/tmp/try', [live], [vol('phase_postgres-data')])).toEqual([
      'container phase-postgres-1 (running) of project phase, made from /srv/phase',
      'volume phase_postgres-data of project phase',
    ]);
    // A stack stopped with `down` keeps its volumes: still another stack's.
    expect(projectInUse('phase', '/tmp/try', [], [vol('phase_postgres-data')])).toEqual(['volume phase_postgres-data of project phase']);
    // An earlier restore --dir of the same DIR (its postgres, and the volume it made) may run again.
    const earlier = { name: 'b-postgres-1', state: 'running', workingDir: '/tmp/try' };
    expect(projectInUse('b', '/tmp/try', [earlier], [vol('b_postgres-data')])).toEqual([]);
    expect(projectInUse('b', '/tmp/try', [{ ...earlier, workingDir: '/tmp/try/compose' }], [vol('b_postgres-data')])).toEqual([]);
    // A sibling directory whose name starts the same is elsewhere; so is a container without the label.
    expect(projectInUse('b', '/tmp/try', [{ ...earlier, workingDir: '/tmp/try-2' }, { name: 'x', state: 'exited' }], [])).toEqual([
      'container b-postgres-1 (running) of project b, made from /tmp/try-2',
      'container x (exited) of project b, made from an unknown directory',
    ]);
    expect(projectInUse('new', '/tmp/try', [], [])).toEqual([]);
  });

  it('a volume alone is an earlier restore --dir\'s when its mark names it with the same creation time', () => {
    // Until 2026-11-29 such a run could not run again: refused over the volume it had made itself.
    const marked = { 'b_postgres-data': '2026-11-29T10:00:00Z' };
    expect(projectInUse('b', '/tmp/try', [], [vol('b_postgres-data')], marked)).toEqual([]);
    // The same time written in another zone is the same time.
    expect(projectInUse('b', '/tmp/try', [], [vol('b_postgres-data', '2026-11-29T11:00:00+01:00')], marked)).toEqual([]);
    // The same name made since (another stack of that name, then `down`): not the run's.
    expect(projectInUse('b', '/tmp/try', [], [vol('b_postgres-data', '2026-11-30T08:00:00Z')], marked)).toEqual(['volume b_postgres-data of project b']);
    // A volume the mark does not name, one whose time is unknown, or a mark's time that is not one.
    expect(projectInUse('b', '/tmp/try', [], [vol('b_postgres-data', 'x')], { 'b_postgres-data': 'x' })).toEqual(['volume b_postgres-data of project b']);
    expect(projectInUse('b', '/tmp/try', [], [vol('b_media'), { name: 'b_postgres-data' }], marked)).toEqual(['volume b_media of project b', 'volume b_postgres-data of project b']);
    // Not while another directory's container is in the project.
    expect(projectInUse('b', '/tmp/try', [{ name: 'b-postgres-1', state: 'exited', workingDir: '/srv/b' }], [vol('b_postgres-data')], marked)).toEqual([
      'container b-postgres-1 (exited) of project b, made from /srv/b',
      'volume b_postgres-data of project b',
    ]);
  });

  it('the mark: written with the stack\'s files (0600), for its project only, not through a link, naming the volumes once Compose ran, gone once unmarked', () => {
    const dir = fresh();
    expect(readRestoreMark(dir, 'b')).toBeUndefined();
    expect(writeStackFromArchive(dir, archive, 'b').written).toContain(join(dir, RESTORE_MARK_FILE));
    expect(statSync(join(dir, RESTORE_MARK_FILE)).mode & 0o777).toBe(0o600);
    expect(readRestoreMark(dir, 'b')).toEqual({ project: 'b', volumes: {} });
    expect(readRestoreMark(dir, 'c')).toBeUndefined();
    markVolumes(dir, 'b', { 'b_postgres-data': '2026-11-29T10:00:00Z' });
    expect(readRestoreMark(dir, 'b')).toEqual({ project: 'b', volumes: { 'b_postgres-data': '2026-11-29T10:00:00Z' } });
    // A run again keeps the mark as it is (with its volumes); another project's mark is refused like any other file.
    expect(writeStackFromArchive(dir, archive, 'b').written).toEqual([]);
    expect(readRestoreMark(dir, 'b')?.volumes).toEqual({ 'b_postgres-data': '2026-11-29T10:00:00Z' });
    expect(refusal(dir, archive, 'c').message).toMatch(/refusing to overwrite files/);
    unmarkRestoring(dir);
    expect(readRestoreMark(dir, 'b')).toBeUndefined();
    writeFileSync(join(dir, 'elsewhere'), '{"project":"b","volumes":{}}\n');
    symlinkSync(join(dir, 'elsewhere'), join(dir, RESTORE_MARK_FILE));
    expect(readRestoreMark(dir, 'b')).toBeUndefined();
    rmSync(join(dir, RESTORE_MARK_FILE));
    for (const junk of ['not json', '{"project":"b"}', '{"project":"b","volumes":{"v":1}}']) {
      writeFileSync(join(dir, RESTORE_MARK_FILE), junk);
      expect(readRestoreMark(dir, 'b'), junk).toBeUndefined();
    }
  });
});

describe('scratchImage: the throwaway server of backup verify', () => {
  const c = { meta: { ...meta, images: [{ service: 'postgres', image: 'postgres:15', id: 'sha256:abc', digests: [] }] } };
  const docker = (here: boolean) => ({ getImage: () => ({ inspect: async () => (here ? {} : Promise.reject(new Error('no such image'))) }) }) as unknown as Parameters<typeof scratchImage>[0];
  it('--image wins when given, even when the archived image is here (until 2026-11-29 it was ignored then)', async () => {
    expect(await scratchImage(docker(true), c, 'postgres:17')).toBe('postgres:17');
    expect(await scratchImage(docker(false), c, 'postgres:17')).toBe('postgres:17');
  });
  it('else the archived image: by ID when it is here, else by name', async () => {
    expect(await scratchImage(docker(true), c, undefined)).toBe('sha256:abc');
    expect(await scratchImage(docker(false), c, undefined)).toBe('postgres:15');
    await expect(scratchImage(docker(false), { meta }, undefined)).rejects.toThrow('no PostgreSQL image to verify with: pass --image');
  });
});

describe('dataKeys: the env keys restore FILE compares with the stack\'s', () => {
  const env = { SECRET_KEY: 'a', SERVER_SECRET: 'b', PHASE_LICENSE_KEY: 'c', PHASE_VERSION: '2.1', HOST: 'x', DATABASE_PASSWORD: 'p', GUNICORN_WORKERS: '2' };
  it('without backups.env: the keys whose name holds SECRET or KEY (not the version upgrade writes, HOST, a password)', () => {
    expect(Object.keys(dataKeys(env, undefined)).sort()).toEqual(['PHASE_LICENSE_KEY', 'SECRET_KEY', 'SERVER_SECRET']);
  });
  it('with backups.env: exactly the keys it lists', () => {
    expect(dataKeys(env, ['SECRET_KEY', 'HOST'])).toEqual({ SECRET_KEY: 'a', HOST: 'x' });
  });
});
