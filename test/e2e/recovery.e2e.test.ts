// End-to-end disaster recovery (issue 14): stack A holds a value its app encrypts with a key from SECRET_KEY
// (the fixture's vault app) and audit events. `backup` writes one encrypted archive; refusals (wrong
// passphrase, one flipped byte, a database newer than the archive) change nothing; `backup verify --deep`
// counts the same rows as A; then A is destroyed (down -v, its directory deleted) and `restore --dir`
// brings it back under a new project name in a new directory: the app decrypts and serves the value, and
// every table's row count matches.
//
// The fixture app image (phase-compose-fixture-app:latest, built by scripts/testbed.sh) has the vault app.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_BYTES, META_MEMBER } from '../../src/backup/archive.js';
import { openArchiveWriter, readArchive } from '../../src/backup/archive-io.js';
import { checkArchive, listCheckedDump, pipeDump } from '../../src/backup/archive-restore.js';
import { connectDocker } from '../../src/docker/client.js';
import { acquireLock } from '../../src/docker/lock.js';
import { pgDumpArgv, pgLogin } from '../../src/exec/postgres.js';
import { streamDump } from '../../src/backup/archive-backup.js';
import { snapshotFacts } from '../../src/backup/instance.js';
import { STACK_LABEL } from './helpers/compose.js';
import { composeDown, containerId, inspectState, lockTable, psql, uniqueProject, waitFor } from './helpers/docker.js';
import { fullDisk, mustRun, run, runAsync, startWatched } from './helpers/run.js';
import { CLI, copyFixtureSpec } from './helpers/stack.js';
import { writeArchive } from '../unit/backup/archive-helpers.js';

const PASS = 'correct horse battery staple';
/** The length of a comment in stack A: its dump's table of contents outgrows one archive chunk. */
const BIG_COMMENT = CHUNK_BYTES + (64 << 10);
const COMMENT_LENGTH = "SELECT length(obj_description('api_secretevent'::regclass, 'pg_class'))";
/** `backup verify`'s throwaway containers, running or not. */
const scratchContainers = () => run('docker', ['ps', '-aq', '--filter', 'label=dev.phase-compose.scratch']).stdout.split('\n').filter(Boolean);
const ROW_COUNTS = `SELECT table_name, (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text
FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`;

describe(`disaster recovery: one archive brings the instance back ${STACK_LABEL}`, () => {
  const projectA = uniqueProject('recov-a');
  const projectB = uniqueProject('recov-b');
  const work = mkdtempSync(join(tmpdir(), 'phase-compose-recovery-'));
  const dirA = join(work, 'a');
  const dirB = join(work, 'b');
  const archive = join(work, 'offsite', 'a.pcbak');
  const env = { ...process.env, PHASE_COMPOSE_BACKUP_PASSPHRASE: PASS };
  const cli = (args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}) => runAsync('node', [CLI, ...args], { cwd, env: { ...env, ...extra } });
  const cliA = (args: string[], extra: NodeJS.ProcessEnv = {}) => cli(['-f', join(dirA, 'phase-compose.yaml'), '-p', projectA, ...args], dirA, extra);
  const started = (project: string) => inspectState(containerId(project, 'backend')).StartedAt;
  /** GET /vault/<name>/ inside the backend container (the app decrypts with its SECRET_KEY). */
  const vault = (project: string, name: string) =>
    run('docker', ['exec', containerId(project, 'backend'), 'python3', '-c',
      `import urllib.request as u; print(u.urlopen(u.Request("http://127.0.0.1:8000/vault/${name}/", headers={"Host": "localhost"})).read().decode())`]);
  let countsA: string[][];
  /** The vault value, once the (restarted) app answers. */
  const greeting = (project: string) => waitFor('the app to answer', () => {
    const r = vault(project, 'greeting');
    return r.code === 0 && JSON.parse(r.stdout);
  }, 120_000, 250);

  /** An archive of A whose restore fails at its end: it grants to `role`, which is dropped once it is made. */
  const grantToGoneArchive = async (role: string) => {
    psql(projectA, `CREATE ROLE ${role}; GRANT SELECT ON vault_sealedvalue TO ${role}`);
    const file = join(work, `grant-to-${role}.pcbak`);
    try {
      const b = await cliA(['backup', '--out', file]);
      expect(b.code, b.stderr).toBe(0);
    } finally {
      psql(projectA, `REVOKE SELECT ON vault_sealedvalue FROM ${role}; DROP ROLE ${role}`);
    }
    return file;
  };

  beforeAll(async () => {
    mustRun('mkdir', ['-p', dirA]);
    copyFixtureSpec(dirA);
    const up = await cliA(['up', '--timeout', '8m'], { FIXTURE_FAIL_MIGRATION: '', FIXTURE_SLOW_MIGRATION_S: '', FIXTURE_NEVER_HEALTHY: '' });
    if (up.code !== 0) throw new Error(`up failed:\n${up.stdout}\n${up.stderr}`);
    const backend = containerId(projectA, 'backend');
    mustRun('docker', ['exec', backend, 'python', 'manage.py', 'seed_events', 'Recovery Org', '--count', '30000', '--days', '30']);
    mustRun('docker', ['exec', backend, 'python', 'manage.py', 'vault_put', 'greeting', 'only SECRET_KEY opens this']);
    // A table of contents longer than one archive chunk (pg_dump -Fc keeps it uncompressed, at the start):
    // a comment of a chunk and a bit, as a very large schema has. Until 2026-11-28 pg_restore --list was
    // given the first chunk alone, and every backup of such a database failed (exit 4).
    psql(projectA, `DO $$ BEGIN EXECUTE format('COMMENT ON TABLE api_secretevent IS %L', repeat('x', ${BIG_COMMENT})); END $$`);
    // On a loaded test bed (2 cores shared) postgres alone has taken 2 minutes to be healthy.
  }, 900_000);

  afterAll(() => {
    // A verification that failed to clean up after itself must not outlive the file.
    for (const id of scratchContainers()) run('docker', ['rm', '-f', '-v', id]);
    composeDown(projectA);
    composeDown(projectB);
    rmSync(work, { recursive: true, force: true });
  });

  it('backup writes one encrypted archive (0600) that verify --deep counts the same rows as the live database', async () => {
    expect(JSON.parse(vault(projectA, 'greeting').stdout)).toEqual({ name: 'greeting', value: 'only SECRET_KEY opens this' });
    countsA = psql(projectA, ROW_COUNTS);
    expect(countsA.find(([t]) => t === 'api_secretevent')?.[1]).toBe('30000');
    expect(countsA.find(([t]) => t === 'vault_sealedvalue')?.[1]).toBe('1');

    const b = await cliA(['backup', '--out', archive]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(new RegExp(`^${archive}\\t\\d+ bytes\\t\\d+ tables\\tencrypted\\n$`));
    expect(statSync(archive).mode & 0o777).toBe(0o600);
    // The .env travels inside, and nothing of it is readable without the passphrase.
    expect(readFileSync(archive).includes(Buffer.from('SECRET_KEY'))).toBe(false);

    const v = await cli(['backup', 'verify', '--deep', archive], work);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toContain(`archive ${archive}: ok (encrypted)`);
    expect(v.stdout).toContain('newest migration: vault.0001_initial');
    const rows = v.stdout.split('rows per table')[1]!.split('\n').slice(1).filter(Boolean).map((l) => l.split('\t'));
    expect(rows.map(([t, n]) => [t!.replace(/^public\./, ''), n])).toEqual(countsA);
  });

  it('a backup whose facts cannot be read fails with psql\'s words and leaves no file behind, not even its temp file', async () => {
    // The facts' query reads django_migrations.name: without that column psql fails while the archive's
    // temp file is already open. Before, the failure left that temp file (88 bytes) in the directory.
    const out = join(work, 'failed-backup');
    psql(projectA, 'ALTER TABLE django_migrations RENAME COLUMN name TO name_elsewhere');
    try {
      const b = await cliA(['backup', '--out', join(out, 'x.pcbak')]);
      expect(b.code, b.stderr).toBe(4);
      expect(b.stderr).toContain('reading the server version and django_migrations failed in the postgres container (psql exit 3)');
      expect(b.stderr).toContain('column "name" does not exist');
      expect(readdirSync(out)).toEqual([]);
    } finally {
      psql(projectA, 'ALTER TABLE django_migrations RENAME COLUMN name_elsewhere TO name');
    }
  });

  it('the archive lists the migrations its own dump holds: one applied after the list is read is in neither (one snapshot)', async () => {
    // Until 2026-11-29 backup read django_migrations, then started pg_dump: a migration applied between the
    // two was in the dump but not in the archive's list, and restoring that archive refused as "newer".
    const docker = await connectDocker();
    const id = containerId(projectA, 'postgres');
    const pg = { containerId: id, ...pgLogin((await docker.getContainer(id).inspect()).Config.Env) };
    const late = `9999_applied_meanwhile_${randomBytes(3).toString('hex')}`;
    /** django_migrations' data in a dump, as pg_restore prints it. */
    const dumpedMigrations = async (argv: string[]) => {
      const chunks: Buffer[] = [];
      await streamDump(docker, pg, argv, new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }));
      const r = spawnSync('docker', ['exec', '-i', id, 'pg_restore', '--data-only', '-t', 'django_migrations', '-f', '-'], { input: Buffer.concat(chunks), encoding: 'utf8', maxBuffer: 64 << 20 });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout;
    };
    const held = await snapshotFacts(docker, pg);
    let inSnapshot: string;
    let outside: string;
    try {
      psql(projectA, `INSERT INTO django_migrations (app, name, applied) VALUES ('vault', '${late}', now())`);
      inSnapshot = await dumpedMigrations(pgDumpArgv(pg, 1, held.snapshot));
      outside = await dumpedMigrations(pgDumpArgv(pg, 1)); // the control: a dump of its own sees the row
    } finally {
      await held.release();
      psql(projectA, `DELETE FROM django_migrations WHERE name = '${late}'`);
    }
    expect(outside).toContain(late);
    expect(inSnapshot).not.toContain(late);
    expect(held.migrations.map((m) => m.name)).not.toContain(late);
    expect(held.migrations.length).toBeGreaterThan(3);
    for (const m of held.migrations) expect(inSnapshot).toContain(`\t${m.app}\t${m.name}\t`);
    // The held transaction is gone once released: no session of it is left idle.
    expect(psql(projectA, "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'")).toEqual([['0']]);
  });

  it('backup while migrations are recorded all along: the archive lists exactly the migrations its dump holds', async () => {
    // The test above takes the parts; this one the command. Another session records a migration every
    // 2 ms or so, each in its own transaction, all through the backup: before 2026-11-29 the rows recorded
    // between the list's read and pg_dump's start were in the dump but not in the list.
    const id = containerId(projectA, 'postgres');
    const login = pgLogin((await (await connectDocker()).getContainer(id).inspect()).Config.Env);
    const busy = `busy_${randomBytes(3).toString('hex')}_`;
    const writer = runAsync('docker', ['exec', id, 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-U', login.user, '-d', login.db, '-c',
      `DO $$ BEGIN FOR i IN 1..2500 LOOP INSERT INTO django_migrations (app, name, applied) VALUES ('vault', '${busy}' || i, now()); COMMIT; PERFORM pg_sleep(0.002); END LOOP; END $$`]);
    const out = join(work, 'busy.pcbak');
    let b: Awaited<ReturnType<typeof cliA>>;
    try {
      await waitFor('the first rows', () => Number(psql(projectA, `SELECT count(*) FROM django_migrations WHERE name LIKE '${busy}%'`)[0]![0]) > 50, 30_000, 50);
      b = await cliA(['backup', '--out', out]);
    } finally {
      const w = await writer;
      // The rows go first: left in A's django_migrations, they would make later restores there refuse.
      psql(projectA, `DELETE FROM django_migrations WHERE name LIKE '${busy}%'`);
      expect(w.code, w.stderr).toBe(0);
    }
    expect(b.code, b.stderr).toBe(0);
    const chunks: Buffer[] = [];
    const { meta } = await readArchive(out, { passphrase: async () => PASS, dump: async (c) => void chunks.push(Buffer.from(c)) });
    const r = spawnSync('docker', ['exec', '-i', id, 'pg_restore', '--data-only', '-t', 'django_migrations', '-f', '-'], { input: Buffer.concat(chunks), encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.status, r.stderr).toBe(0);
    const dumped = r.stdout.split('\n').filter((l) => l.includes(`\t${busy}`)).length;
    const listed = meta.migrations.filter((m) => m.name.startsWith(busy)).length;
    expect(listed).toBeGreaterThan(50); // the backup ran amid the writes: not before them,
    expect(listed).toBeLessThan(2500); // nor after
    expect(dumped).toBe(listed);
  }, 120_000);

  it('a full disk while the archive is written: exit 1, "the disk is full", nothing left, pg_dump stopped', async () => {
    // Before, the dump's writable failed with no listener: Node died on an unhandled 'error' event
    // ("already finalized or destroyed", a stack trace, exit 1).
    const disk = fullDisk();
    try {
      const b = await cliA(['backup', '--out', join(disk.dir, 'x.pcbak')]);
      expect(b.code, b.stderr).toBe(1);
      expect(b.stderr).toContain(`could not write ${join(disk.dir, 'x.pcbak')}: the disk is full`);
      expect(b.stderr).toContain('the half-written archive was removed; no file has its name');
      expect(b.stderr).not.toContain('    at ');
      expect(readdirSync(disk.dir)).toEqual([]);
    } finally {
      disk.done();
    }
    // pg_dump was stopped, not left to dump into nothing (its session may take a moment to go).
    await waitFor('pg_dump to be gone', () => psql(projectA, 'SELECT count(*) FROM pg_stat_activity WHERE application_name = $$pg_dump$$')[0]?.[0] === '0', 10_000, 100);
  });

  it('restore --dir onto a full disk: exit 1, "the disk is full", the files it wrote removed, no stack started', async () => {
    // Before: "unexpected error: ENOSPC ... this is a bug", with the files written so far left behind.
    const disk = fullDisk('8k');
    try {
      const r = await cli(['-p', projectB, 'restore', archive, '--dir', join(disk.dir, 'new'), '--yes'], work);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/could not write .*: the disk is full/);
      expect(r.stderr).toMatch(/the \d+ file\(s\) this restore had written were removed; nothing else was changed/);
      expect(readdirSync(disk.dir)).toEqual([]);
    } finally {
      disk.done();
    }
    expect(run('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${projectB}`]).stdout.trim()).toBe('');
  });

  it('a restore command that fails before the dump ends is reported with its own exit code and stderr', async () => {
    // An archive whose dump spans three chunks (its bytes do not matter here), fed to a stand-in for
    // pg_restore in stack A's postgres container that reads a little, complains and exits 1, as pg_restore
    // does on a bad statement or a full disk. Before, the rest of the dump had nowhere to go: the restore
    // said only "ended before the dump did" (or died on the connection's reset), without pg_restore's words.
    const docker = await connectDocker();
    const pg = { containerId: containerId(projectA, 'postgres') };
    const passphrase = async () => PASS;
    const big = join(work, 'three-chunks.pcbak');
    const w = await openArchiveWriter(big, { passphrase: PASS });
    await w.add(META_MEMBER, JSON.stringify((await readArchive(archive, { passphrase })).meta));
    await new Promise<void>((res) => w.dump.end(randomBytes(2 * CHUNK_BYTES + 1), () => res()));
    await w.finish();
    const checked = { ...(await readArchive(big, { passphrase })), tables: 0 };
    expect(checked.manifest.dump.chunks).toBe(3);
    const argv = ['sh', '-c', 'head -c 4096 >/dev/null; echo "pg_restore: error: could not extend file: No space left on device" >&2; exit 1'];
    const r = await pipeDump(docker, pg, big, checked, passphrase, argv);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('No space left on device');
  });

  it('Ctrl-C during verify --deep removes its throwaway PostgreSQL container and the volume (they would hold the data): exit 130', async () => {
    const scratch = () => scratchContainers().join(' ');
    expect(scratch()).toBe('');
    const { child, err, exited } = startWatched('node', [CLI, 'backup', 'verify', '--deep', archive], { cwd: work, env });
    // The signal while the new server initialises its data directory (seconds), before it answers.
    const id = await waitFor('the throwaway container', scratch, 60_000, 50);
    const volumes = mustRun('docker', ['inspect', '-f', '{{range .Mounts}}{{.Name}} {{end}}', id]).stdout.trim().split(/\s+/).filter(Boolean);
    expect(volumes.length).toBeGreaterThan(0);
    child.kill('SIGINT');
    expect(await exited, err()).toBe(130);
    expect(err()).toContain('interrupted (SIGINT) while the archive was checked');
    expect(err()).toContain('the throwaway PostgreSQL container was removed, with its volume');
    expect(scratch()).toBe('');
    for (const v of volumes) expect(run('docker', ['volume', 'inspect', v]).code, v).not.toBe(0);
  });

  it('Ctrl-C during the first read of restore FILE (a 160 MiB archive) stops it at once: exit 130, the app never stopped', async () => {
    // Before, the signal killed phase-compose with no word of its own (safe, nothing had changed yet).
    const big = join(work, 'large.pcbak');
    await writeArchive(big, (await readArchive(archive, { passphrase: async () => PASS })).meta, randomBytes(160 << 20), PASS);
    const before = started(projectA);
    const t0 = Date.now();
    const { child, err, exited } = startWatched('node', [CLI, '-f', join(dirA, 'phase-compose.yaml'), '-p', projectA, 'restore', big, '--yes'], { cwd: dirA, env });
    await waitFor('the read to begin', () => err().includes('restore: checking'), 60_000, 20);
    child.kill('SIGINT');
    expect(await exited, err()).toBe(130);
    expect(err()).toContain('interrupted (SIGINT) while the archive was read');
    expect(err()).toContain('nothing was changed; the app was not stopped');
    expect(err()).not.toContain('archive ok');
    expect(err()).not.toContain('stopping');
    expect(started(projectA)).toBe(before);
    rmSync(big);
    console.log(`restore interrupted during its first read: ended ${Date.now() - t0} ms after its start`);
  });

  it('refusals change nothing: wrong passphrase, one flipped byte, a database newer than the archive, other env keys (--force does not lift that one; --ignore-env does)', async () => {
    const before = started(projectA);
    const wrong = await cliA(['restore', archive, '--yes'], { PHASE_COMPOSE_BACKUP_PASSPHRASE: 'not the passphrase at all' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`phase-compose: wrong passphrase for ${archive}`);

    const flipped = join(work, 'flipped.pcbak');
    const bytes = readFileSync(archive);
    bytes[Math.floor(bytes.length * 0.6)]! ^= 0x01;
    writeFileSync(flipped, bytes);
    const bad = await cliA(['restore', flipped, '--yes']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/the archive .*flipped\.pcbak is damaged or truncated/);
    expect(bad.stderr).not.toContain('stopping');

    // A migration applied after the backup (recorded as Django records it).
    psql(projectA, `INSERT INTO django_migrations (app, name, applied) VALUES ('vault', '0002_after_the_backup', now())`);
    const newer = await cliA(['restore', archive, '--yes']);
    expect(newer.code).toBe(1);
    expect(newer.stderr).toContain('the live database has 1 migration the archive does not know: it is newer than the backup');
    expect(newer.stderr).toContain('applied since the backup: vault.0002_after_the_backup');
    expect(newer.stderr).toContain('migrations are one-way');
    expect(newer.stderr).not.toContain('stopping');
    psql(projectA, `DELETE FROM django_migrations WHERE name = '0002_after_the_backup'`);

    // The stack's env with another SECRET_KEY (a stack made anew, fresh secrets): the app could not read
    // the restored data. Until 2026-11-29 this was never compared, and the restore exited 0.
    const envPath = join(dirA, '.env');
    const envText = readFileSync(envPath, 'utf8');
    expect(envText).toContain('SECRET_KEY=fixture-django-secret-key-not-secret-0123456789abcdef');
    writeFileSync(envPath, envText.replace('SECRET_KEY=fixture-django-secret-key-not-secret-0123456789abcdef', 'SECRET_KEY=made-anew-0123456789abcdef0123456789abcdef'));
    try {
      const otherKeys = await cliA(['restore', archive, '--yes']);
      expect(otherKeys.code).toBe(1);
      expect(otherKeys.stderr).toContain("phase-compose: the stack's env files differ from the archive's in keys the app may read its data with: defines SECRET_KEY otherwise than the archive");
      expect(otherKeys.stderr).not.toContain('made-anew'); // names, never values
      expect(otherKeys.stderr).not.toContain('fixture-django-secret-key');
      expect(otherKeys.stderr).not.toContain('stopping');
      // --force is for an archive older than the database: until 2026-11-29 it lifted this refusal too.
      const forced = await cliA(['restore', archive, '--yes', '--force']);
      expect(forced.code).toBe(1);
      expect(forced.stderr).toContain("phase-compose: the stack's env files differ from the archive's");
      expect(forced.stderr).toContain('pass --ignore-env if the differing keys hold no such key (--force does not lift this)');
      expect(forced.stderr).not.toContain('stopping');
      expect(started(projectA)).toBe(before);
      // Its own flag lifts it, and says so (the running containers keep the env they were made with).
      const ignored = await cliA(['restore', archive, '--yes', '--ignore-env']);
      expect(ignored.code, ignored.stderr).toBe(0);
      expect(ignored.stderr).toContain("restore: --ignore-env: the stack's env files differ from the archive's: defines SECRET_KEY otherwise than the archive");
      expect(ignored.stderr).not.toContain('made-anew');
    } finally {
      writeFileSync(envPath, envText);
    }

    expect(inspectState(containerId(projectA, 'backend')).Running).toBe(true);
    expect(psql(projectA, ROW_COUNTS)).toEqual(countsA);
  });

  it('restore FILE into the running stack: every row back, the app stopped meanwhile and serving the value again', async () => {
    psql(projectA, 'DELETE FROM vault_sealedvalue; DELETE FROM api_secretevent WHERE ctid IN (SELECT ctid FROM api_secretevent LIMIT 100)');
    expect(psql(projectA, ROW_COUNTS)).not.toEqual(countsA);
    const before = started(projectA);
    const r = await cliA(['restore', archive, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/restore: stopping .*backend/);
    expect(r.stderr).toContain('restore: pg_restore --clean --if-exists --single-transaction into ');
    expect(r.stdout).toMatch(/^restored .*a\.pcbak: \d+ tables with data; restarted backend/);
    expect(psql(projectA, ROW_COUNTS)).toEqual(countsA);
    expect(started(projectA)).not.toBe(before);
    expect(await greeting(projectA)).toEqual({ name: 'greeting', value: 'only SECRET_KEY opens this' });
  }, 300_000);

  it('restore FILE while another session holds locks (a psql left in a transaction): refused before anything stops, naming it', async () => {
    // Until 2026-11-29 pg_restore waited for the lock as long as it was held (here 120 s), with the app
    // stopped; a lock timeout cannot bound that wait, as every dump begins with SET lock_timeout = 0.
    const before = started(projectA);
    const lock = await lockTable(projectA, 'api_secretevent');
    let r: Awaited<ReturnType<typeof cliA>>;
    const t = Date.now();
    try {
      await new Promise((res) => setTimeout(res, 6_000)); // older than the 5 s an app's request never takes
      r = await cliA(['restore', archive, '--yes']);
    } finally {
      lock.release();
    }
    expect(Date.now() - t).toBeLessThan(60_000);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('phase-compose: a session holds locks in the database: pg_restore would wait for it with the app stopped');
    expect(r.stderr).toMatch(/pid \d+ \(psql\) from local socket, active, in a transaction open for \d+s/);
    expect(r.stderr).not.toContain('restore: stopping');
    expect(started(projectA)).toBe(before);
    expect(psql(projectA, ROW_COUNTS)).toEqual(countsA);
  }, 300_000);

  it('restore FILE whose dump fails to load (a GRANT to a role gone since): exit 4 with pg_restore\'s words, the live data as it was, the app back', async () => {
    const failing = await grantToGoneArchive('pc_gone');
    psql(projectA, 'DELETE FROM api_secretevent WHERE ctid IN (SELECT ctid FROM api_secretevent LIMIT 7)');
    const live = psql(projectA, ROW_COUNTS);
    const before = started(projectA);
    const r = await cliA(['restore', failing, '--yes']);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain('pg_restore failed (exit 1); the transaction was rolled back, the database is as before');
    expect(r.stderr).toContain('role "pc_gone" does not exist');
    expect(psql(projectA, ROW_COUNTS)).toEqual(live);
    expect(started(projectA)).not.toBe(before);
    expect(inspectState(containerId(projectA, 'worker')).Running).toBe(true);
    expect(await greeting(projectA)).toEqual({ name: 'greeting', value: 'only SECRET_KEY opens this' });
  }, 300_000);

  it('restore FILE --force over a newer database: what the newer migration made is gone too, in one transaction with the restore', async () => {
    // An archive whose restore fails at its end (a GRANT to a role gone since) and that holds a large
    // object (pg_restore's script without --single-transaction commits their data on its own: whatever
    // came before it with it). Then a later migration as Django leaves one: its row, a table that refers
    // to an archived one, a column on an archived table, and what RunSQL makes: a function, an enum, a
    // sequence, a schema, an aggregate of no argument, a text search configuration; and a large object,
    // and an event trigger that refuses all DDL (made last: it refuses the test's own too).
    const blob = psql(projectA, "SELECT lo_from_bytea(0, 'a large object')")[0]![0]!;
    const failing = await grantToGoneArchive('pc_gone_force');
    psql(projectA, `SELECT lo_unlink(${blob})`);
    psql(projectA, `INSERT INTO django_migrations (app, name, applied) VALUES ('vault', '0002_after_the_backup', now());
      CREATE TABLE vault_later (id bigserial PRIMARY KEY, sealed_id bigint NOT NULL REFERENCES vault_sealedvalue (id));
      INSERT INTO vault_later (sealed_id) SELECT id FROM vault_sealedvalue;
      ALTER TABLE api_organisation ADD COLUMN later text;
      CREATE TYPE later_mood AS ENUM ('calm');
      CREATE FUNCTION later_fn(later_mood) RETURNS int LANGUAGE sql AS 'SELECT 1';
      CREATE SEQUENCE later_seq;
      CREATE SCHEMA later_schema;
      CREATE AGGREGATE later_count(*) (sfunc = int8inc, stype = int8, initcond = '0');
      CREATE TEXT SEARCH CONFIGURATION later_search (COPY = english);
      SELECT lo_from_bytea(0, 'a later large object');
      CREATE FUNCTION later_guard() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'later_guard: no DDL'; END $$;
      CREATE EVENT TRIGGER later_guard ON ddl_command_start EXECUTE FUNCTION later_guard()`);
    const later = `SELECT to_regclass('vault_later') IS NOT NULL, (SELECT count(*) FROM information_schema.columns WHERE table_name = 'api_organisation' AND column_name = 'later'),
      (SELECT count(*) FROM django_migrations WHERE name = '0002_after_the_backup'), to_regtype('later_mood') IS NOT NULL, (SELECT count(*) > 0 FROM pg_proc WHERE proname = 'later_fn'),
      to_regclass('later_seq') IS NOT NULL, (SELECT count(*) FROM pg_namespace WHERE nspname = 'later_schema'), (SELECT count(*) FROM pg_largeobject_metadata WHERE oid = ${blob}),
      (SELECT count(*) FROM pg_proc WHERE proname = 'later_count'), (SELECT count(*) FROM pg_ts_config WHERE cfgname = 'later_search'),
      (SELECT count(*) FROM pg_largeobject_metadata), (SELECT count(*) FROM pg_event_trigger WHERE evtname = 'later_guard')`;
    /** `later` while all of the newer migration is there. */
    const newer = [['t', '1', '1', 't', 't', 't', '1', '0', '1', '1', '1', '1']];
    expect(psql(projectA, later)).toEqual(newer);
    const live = psql(projectA, ROW_COUNTS);

    // All or nothing: the restore fails, so the drops are rolled back with it.
    const bad = await cliA(['restore', failing, '--yes', '--force']);
    expect(bad.code, bad.stderr).toBe(4);
    expect(bad.stderr).toContain('the restore failed (psql exit 3); the transaction was rolled back, the database is as before');
    expect(bad.stderr).toContain('role "pc_gone_force" does not exist');
    expect(psql(projectA, later)).toEqual(newer);
    expect(psql(projectA, ROW_COUNTS)).toEqual(live);

    // Until 2026-11-29 pg_restore --clean dropped only the archive's tables: DROP TABLE vault_sealedvalue
    // failed on vault_later's foreign key (exit 4), and without one the table stayed to fail the next migrate.
    const r = await cliA(['restore', archive, '--yes', '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('the live database has 1 migrations the archive does not know: its tables, views, sequences, routines, types, schemas and more are dropped');
    expect(r.stderr).toContain('restore: pg_restore | psql: the tables, views, routines, types and schemas of ');
    // And a large object and an event trigger that vetoes DDL (until 2026-11-29: the first DROP failed on it).
    expect(psql(projectA, later)).toEqual([['f', '0', '0', 'f', 'f', 'f', '0', '0', '0', '0', '0', '0']]);
    expect(psql(projectA, ROW_COUNTS)).toEqual(countsA);
    expect(await greeting(projectA)).toEqual({ name: 'greeting', value: 'only SECRET_KEY opens this' });
    // The restored schema is the archive's: Django finds nothing to apply and nothing in its way.
    const plan = run('docker', ['exec', containerId(projectA, 'backend'), 'python', 'manage.py', 'migrate', '--plan']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('No planned migration operations.');
  }, 300_000);

  it('restore FILE while another run holds the project (an upgrade): exit 6 at once, the app never stopped', async () => {
    // Before, restore took no lock: an upgrade could start new replicas and its migrations mid-restore.
    const lock = acquireLock(projectA, 'upgrade');
    try {
      const before = started(projectA);
      const r = await cliA(['restore', archive, '--yes']);
      expect(r.code, r.stderr).toBe(6);
      expect(r.stderr).toContain(`another phase-compose upgrade (pid ${process.pid}`);
      expect(r.stderr).not.toContain('restore: checking');
      expect(started(projectA)).toBe(before);
    } finally {
      lock.release();
    }
  });

  it('a backup and a restore of the same database refuse each other at once (exit 6), nothing written, nothing stopped', async () => {
    // Before, a restore started under a backup stopped the app and waited on pg_dump's locks for the whole
    // dump; a backup started under a restore waited on its transaction and failed with pg_dump's words.
    const reading = acquireLock(projectA, 'backup', { kind: 'data', shared: true });
    try {
      const before = started(projectA);
      const r = await cliA(['restore', archive, '--yes']);
      expect(r.code, r.stderr).toBe(6);
      expect(r.stderr).toContain(`another phase-compose backup (pid ${process.pid}`);
      expect(r.stderr).not.toContain('restore: stopping');
      expect(started(projectA)).toBe(before);
      // Backups share it.
      const b = await cliA(['backup', '--out', join(work, 'while-reading.pcbak')]);
      expect(b.code, b.stderr).toBe(0);
    } finally {
      reading.release();
    }
    const replacing = acquireLock(projectA, 'restore', { kind: 'data' });
    try {
      const b = await cliA(['backup', '--dump-only', '--out', join(work, 'while-restoring.dump')]);
      expect(b.code, b.stderr).toBe(6);
      expect(b.stderr).toContain(`another phase-compose restore (pid ${process.pid}`);
      expect(existsSync(join(work, 'while-restoring.dump'))).toBe(false);
    } finally {
      replacing.release();
    }
  }, 120_000);

  it('restore FILE waiting at its question on a terminal holds no lock on the data: a backup meanwhile exits 0, and "n" cancels, nothing stopped', async () => {
    // Until f1cce48 (2026-11-29) the data lock was taken first, and a terminal left at the question made
    // every scheduled backup meanwhile exit 6. A terminal: Python's pty.spawn (an argv, no shell) runs the
    // restore on a pseudo-terminal and copies this test's pipe into it.
    const before = started(projectA);
    const asking = startWatched('python3', ['-c', 'import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)', 'node', CLI, '-f', join(dirA, 'phase-compose.yaml'), '-p', projectA, 'restore', archive], { cwd: dirA, env });
    try {
      await waitFor('the question', () => asking.out().includes('[y/N]'), 120_000, 100);
      const b = await cliA(['backup', '--out', join(work, 'while-asking.pcbak')]);
      expect(b.code, b.stderr).toBe(0);
      asking.child.stdin!.write('n\r');
      expect(await asking.exited, asking.out()).toBe(1);
      expect(asking.out()).toContain('cancelled: nothing was changed');
      expect(asking.out()).not.toContain('restore: stopping');
    } finally {
      // On a failure above: the restore on the pty must be gone (with the stack's lock) before the next test.
      asking.child.kill();
      await Promise.race([asking.exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
    expect(started(projectA)).toBe(before);
  }, 180_000);

  it('restore FILE whose archive is deleted once the app stops (a rotation) restores what it checked: exit 0, every row back', async () => {
    // Before, the second read opened the name again: ENOENT with the app stopped, "unexpected error", exit 1.
    const copy = join(work, 'rotated.pcbak');
    writeFileSync(copy, readFileSync(archive));
    psql(projectA, 'DELETE FROM vault_sealedvalue');
    const { child, err, exited } = startWatched('node', [CLI, '-f', join(dirA, 'phase-compose.yaml'), '-p', projectA, 'restore', copy, '--yes'], { cwd: dirA, env });
    await waitFor('the app to be stopping', () => err().includes('restore: stopping'), 60_000, 10);
    rmSync(copy);
    expect(await exited, err()).toBe(0);
    expect(err()).toContain('restore: pg_restore --clean');
    expect(existsSync(copy)).toBe(false);
    expect(psql(projectA, ROW_COUNTS)).toEqual(countsA);
    expect(await greeting(projectA)).toEqual({ name: 'greeting', value: 'only SECRET_KEY opens this' });
    child.kill();
  }, 300_000);

  it('restore FILE whose app container is removed while stopped: the data is restored, and it exits 4 saying what did not start', async () => {
    // Before, "could not start" was printed and the restore exited 0 with the worker gone.
    psql(projectA, 'DELETE FROM vault_sealedvalue');
    const worker = containerId(projectA, 'worker');
    const { err, exited } = startWatched('node', [CLI, '-f', join(dirA, 'phase-compose.yaml'), '-p', projectA, 'restore', archive, '--yes'], { cwd: dirA, env });
    await waitFor('the worker to have stopped', () => err().includes('restore: stopping') && !inspectState(worker).Running, 60_000, 10);
    mustRun('docker', ['rm', worker]);
    expect(await exited, err()).toBe(4);
    expect(err()).toContain('phase-compose: the database was restored, but a container of the app did not start again');
    expect(err()).toContain('start the app with `phase-compose up`; the restored data stays');
    expect(psql(projectA, ROW_COUNTS)).toEqual(countsA);
    const up = await cliA(['up', '--timeout', '4m']);
    expect(up.code, up.stderr).toBe(0);
    expect(inspectState(containerId(projectA, 'worker')).Running).toBe(true);
  }, 300_000);

  it('restore FILE whose output is closed (as `| head -1` does) still finishes: every row back, the app running, exit 0', async () => {
    // Before, the first line written after the reader left (EPIPE) killed phase-compose midway: the app
    // was left stopped, and the restore cut short.
    psql(projectA, 'DELETE FROM vault_sealedvalue');
    expect(psql(projectA, ROW_COUNTS)).not.toEqual(countsA);
    const before = started(projectA);
    const { child, exited } = startWatched('node', [CLI, '-f', join(dirA, 'phase-compose.yaml'), '-p', projectA, 'restore', archive, '--yes'], { cwd: dirA, env });
    child.stdout!.destroy();
    child.stderr!.destroy();
    expect(await exited).toBe(0);
    expect(psql(projectA, ROW_COUNTS)).toEqual(countsA);
    expect(started(projectA)).not.toBe(before);
    expect(inspectState(containerId(projectA, 'worker')).Running).toBe(true);
    expect(await greeting(projectA)).toEqual({ name: 'greeting', value: 'only SECRET_KEY opens this' });
  }, 300_000);

  it('restore --dir lists the dump reading it again only as far as pg_restore --list reads (its table of contents)', async () => {
    // A real dump of A (its table of contents spans two chunks) with three chunks of other bytes after it,
    // listed against a manifest whose last chunk is wrong: reading that far would be refused ("differs").
    const docker = await connectDocker();
    const pg = { containerId: containerId(projectA, 'postgres') };
    const passphrase = async () => PASS;
    const dumped = spawnSync('docker', ['exec', pg.containerId, 'sh', '-c', 'exec pg_dump -Fc -U "$POSTGRES_USER" -d "$POSTGRES_DB"'], { maxBuffer: 256 << 20 });
    expect(dumped.status, dumped.stderr.toString()).toBe(0);
    expect(dumped.stdout.length).toBeGreaterThan(CHUNK_BYTES);
    const file = join(work, 'toc-then-more.pcbak');
    await writeArchive(file, (await readArchive(archive, { passphrase })).meta, Buffer.concat([dumped.stdout, randomBytes(3 * CHUNK_BYTES)]), PASS);
    const full = await checkArchive(docker, pg, file, passphrase); // reads every chunk
    expect(full.manifest.dump.chunks).toBeGreaterThanOrEqual(5);
    expect(full.tables).toBe(countsA.length);
    const last = full.manifest.members.filter((m) => m.name.startsWith('db/dump.')).at(-1)!;
    const wrongEnd = { ...full, manifest: { ...full.manifest, members: full.manifest.members.map((m) => (m === last ? { ...m, sha256: '0'.repeat(64) } : m)) } };
    expect(await listCheckedDump(docker, pg, file, wrongEnd, passphrase)).toBe(full.tables);
    // The same manifest is refused by a read to the end: the wrong digest above was never reached.
    await expect(readArchive(file, { passphrase, expect: wrongEnd.manifest, dump: async () => {} })).rejects.toThrow(/differs from what the first read of the archive checked/);
  });

  it('down -v and the directory deleted; restore --dir under a new project brings it back: the app decrypts, every row count matches', async () => {
    const down = await cliA(['down', '-v']);
    expect(down.code, down.stderr).toBe(0);
    rmSync(dirA, { recursive: true, force: true });
    expect(existsSync(dirA)).toBe(false);

    const r = await cli(['-p', projectB, 'restore', archive, '--dir', dirB, '--timeout', '8m'], work);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    // The database came back before any app container started.
    const restored = r.stderr.indexOf('restore: database restored; starting the stack with up');
    expect(restored).toBeGreaterThan(-1);
    expect(r.stderr.slice(0, restored)).toContain('restore: starting postgres alone');
    expect(statSync(join(dirB, '.env')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dirB, '.env'), 'utf8')).toContain('SECRET_KEY=fixture-django-secret-key-not-secret-0123456789abcdef');

    expect(JSON.parse(vault(projectB, 'greeting').stdout)).toEqual({ name: 'greeting', value: 'only SECRET_KEY opens this' });
    expect(psql(projectB, ROW_COUNTS)).toEqual(countsA);
    expect(psql(projectB, COMMENT_LENGTH)).toEqual([[String(BIG_COMMENT)]]); // the table of contents of more than a chunk

    // A second restore --dir into the same place refuses: the database is no longer empty.
    const again = await cli(['-p', projectB, 'restore', archive, '--dir', dirB], work);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("the new stack's database already holds");
  }, 900_000);

  it('without the same SECRET_KEY the app cannot read the restored value (the key had to travel)', () => {
    // Proves the round trip above tested something: the value is sealed with SECRET_KEY.
    const other = run('docker', ['exec', '-e', 'SECRET_KEY=another-key', containerId(projectB, 'backend'), 'python', 'manage.py', 'shell', '-c',
      'from vault.crypto import open_, WrongKey\nfrom vault.models import SealedValue\ntry:\n    open_(bytes(SealedValue.objects.get(name="greeting").sealed))\n    print("opened")\nexcept WrongKey:\n    print("refused")']);
    expect(other.stdout.trim()).toBe('refused');
  });

  it('restore --dir runs again after a run that failed once Compose had made the volume, before its container', async () => {
    const projectD = uniqueProject('recov-d');
    const dirD = join(work, 'd');
    // Containers by the names Compose (v2, v1) gives the project's postgres, made outside it: Compose makes
    // the volume, then fails to make the container.
    const squatters = [`${projectD}-postgres-1`, `${projectD}_postgres_1`];
    try {
      for (const name of squatters) mustRun('docker', ['create', '--name', name, 'phase-compose-fixture-postgres:latest']);
      const failed = await cli(['-p', projectD, 'restore', archive, '--dir', dirD, '--timeout', '2m'], work);
      expect(failed.code, failed.stderr).toBe(4);
      expect(failed.stderr).toContain('could not start postgres');
      expect(run('docker', ['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${projectD}`]).stdout.trim()).toBe(`${projectD}_fixture-postgres-data`);
      for (const name of squatters) mustRun('docker', ['rm', name]);
      // Until 2026-11-29 every run after it was refused over that volume, though the error said to run it again.
      const again = await cli(['-p', projectD, 'restore', archive, '--dir', dirD, '--timeout', '4m'], work);
      expect(again.code, again.stderr).toBe(0);
      expect(await greeting(projectD)).toEqual({ name: 'greeting', value: 'only SECRET_KEY opens this' });
      expect(psql(projectD, ROW_COUNTS)).toEqual(countsA);
      // The mark goes once the database is restored: a later run is refused over the project as it is.
      expect(existsSync(join(dirD, '.phase-compose-restoring'))).toBe(false);
      // Without the mark (the stack an archive came from, stopped with `down`), its volume is another stack's.
      mustRun('docker', ['rm', '-f', '-v', ...run('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${projectD}`]).stdout.split('\n').filter(Boolean)]);
      const origin = await cli(['-p', projectD, 'restore', archive, '--dir', dirD], work);
      expect(origin.code, origin.stderr).toBe(1);
      expect(origin.stderr).toContain(`volume ${projectD}_fixture-postgres-data of project ${projectD}`);
    } finally {
      for (const name of squatters) run('docker', ['rm', '-f', name]);
      composeDown(projectD);
    }
  }, 300_000);

  it('restore --dir into a project another stack runs refuses before anything is written or started: the live postgres stays as it was', async () => {
    // Until 2026-11-29 it wrote DIR and ran `compose up postgres` in that project first, and refused only
    // then (the database is not empty): a definition that differed (an older postgres image in an old
    // archive) recreated the live stack's postgres from the archive's file.
    const pg = containerId(projectB, 'postgres');
    const before = inspectState(pg).StartedAt;
    const dirC = join(work, 'c');
    const r = await cli(['-p', projectB, 'restore', archive, '--dir', dirC], work);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`project ${projectB} already exists on this host`);
    expect(r.stderr).toMatch(new RegExp(`container ${projectB}[-_]postgres[-_]1 \\(running\\) of project ${projectB}, made from ${dirB.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(existsSync(dirC)).toBe(false);
    expect(containerId(projectB, 'postgres')).toBe(pg);
    expect(inspectState(pg).StartedAt).toBe(before);
    expect(JSON.parse(vault(projectB, 'greeting').stdout)).toEqual({ name: 'greeting', value: 'only SECRET_KEY opens this' });
  });
});
