// End-to-end: `phase-compose backup --dump-only` (the plain dump `up` also writes before migrations), then dropping a table, then `restore`: every table's row count is back,
// the checksum file matches, the app services were stopped and started again.
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_LABEL } from './helpers/compose.js';
import { composeAsync, composeDown, containerId, inspectState, lockTable, pgDumps, psql, waitFor } from './helpers/docker.js';
import { CLI, generateFixtureStack, type GeneratedStack } from './helpers/stack.js';
import { fullDisk, run, startWatched } from './helpers/run.js';

/** Async (a long spawnSync starves vitest's worker RPC); resolves with the exit code and output, never rejects. */
const runAsync = (cmd: string, args: string[], cwd?: string) =>
  new Promise<ReturnType<typeof run>>((resolve) =>
    execFile(cmd, args, { cwd, maxBuffer: 64 << 20 }, (e, stdout, stderr) => resolve({ code: e ? Number(e.code ?? 1) : 0, stdout, stderr })),
  );

const ROW_COUNTS = `SELECT table_name, (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text
FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`;

describe(`backup and restore on the fixture stack ${STACK_LABEL}`, () => {
  let stack: GeneratedStack;
  let spec: string;
  const cli = (args: string[]) => runAsync('node', [CLI, '-f', spec, '-p', stack.project, ...args], stack.dir);

  beforeAll(async () => {
    stack = generateFixtureStack('backup');
    spec = join(stack.dir, 'phase-compose.yaml');
    const up = await composeAsync(stack, ['up', '-d'], { FIXTURE_FAIL_MIGRATION: '', FIXTURE_SLOW_MIGRATION_S: '', FIXTURE_NEVER_HEALTHY: '' });
    if (up.code !== 0) throw new Error(`compose up -d failed:\n${up.stdout}\n${up.stderr}`);
    const seed = await runAsync('docker', ['exec', containerId(stack.project, 'backend'), 'python', 'manage.py', 'seed_events', `O'Brien; "Labs"`, '--count', '50000', '--days', '30']);
    if (seed.code !== 0) throw new Error(`seed failed: ${seed.stderr}`);
  });

  afterAll(() => {
    if (stack) {
      composeDown(stack);
      stack.cleanup();
    }
  });

  it('backup, drop a table, restore: every row count is back', async () => {
    const before = psql(stack.project, ROW_COUNTS);
    expect(before.find(([t]) => t === 'api_secretevent')?.[1]).toBe('50000');

    const t0 = Date.now();
    const b = await cli(['backup', '--dump-only']);
    expect(b.code, b.stderr).toBe(0);
    // Not a speed target: a hang check. The 1 MB dump takes ~0.4 s; with an exec's hijacked socket left
    // half-open the process lingered ~24 s after finishing.
    expect(Date.now() - t0).toBeLessThan(10_000);
    const file = b.stdout.split('\t')[0]!;
    expect(file.startsWith(join(stack.dir, 'backups'))).toBe(true);
    expect(b.stderr).toMatch(/backup: \d+ bytes, \d+ tables with data, sha256 [0-9a-f]{64}/);
    const sum = readFileSync(`${file}.sha256`, 'utf8');
    expect(sum).toBe(`${createHash('sha256').update(readFileSync(file)).digest('hex')}  ${file.split('/').pop()}\n`);

    // Rotation: migrations.backup.keep is 3 in the fixture spec.
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 1100));
      expect((await cli(['backup', '--dump-only'])).code).toBe(0);
    }
    expect(readdirSync(join(stack.dir, 'backups')).filter((f) => f.endsWith('.dump'))).toHaveLength(3);
    expect(existsSync(file)).toBe(false);
    const keep = (await cli(['backup', '--dump-only', '--out', 'manual/keep.dump'])).stdout.split('\t')[0]!;
    expect(keep).toBe(join(stack.dir, 'manual/keep.dump'));
    // --out is read from where the command runs, as restore's FILE is (until 2026-11-29 from the spec's
    // directory: run from elsewhere, the file went beside the spec and `restore <same name>` did not find it).
    const elsewhere = mkdtempSync(join(tmpdir(), 'pc-backup-cwd-'));
    try {
      const r = await runAsync('node', [CLI, '-f', spec, '-p', stack.project, 'backup', '--dump-only', '--out', 'here.dump'], elsewhere);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.split('\t')[0]).toBe(join(elsewhere, 'here.dump'));
      expect(existsSync(join(elsewhere, 'here.dump'))).toBe(true);
      expect(existsSync(join(stack.dir, 'here.dump'))).toBe(false);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }

    psql(stack.project, 'DROP TABLE api_secretevent; DELETE FROM api_secret WHERE key = $$SECRET_1$$;');
    expect(psql(stack.project, ROW_COUNTS)).not.toEqual(before);

    const refused = await cli(['restore', keep]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('pass --yes');

    const backendBefore = inspectState(containerId(stack.project, 'backend')).StartedAt;
    const r = await cli(['restore', keep, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('checksum ok');
    expect(r.stderr).toMatch(/stopping .*backend/);
    expect(psql(stack.project, ROW_COUNTS)).toEqual(before);
    const backend = inspectState(containerId(stack.project, 'backend'));
    expect(backend.Running).toBe(true);
    expect(backend.StartedAt).not.toBe(backendBefore);
  });

  it('a full disk: --dump-only fails with exit 1 and says so, leaves nothing, and never overwrites a file of that name', async () => {
    // Before, the write's failure left pg_dump's output waiting for a 'drain' that never came: the process
    // ran out of work and exited 0, as if the backup had been made, with a .partial file left behind.
    const disk = fullDisk();
    try {
      const b = await cli(['backup', '--dump-only', '--out', join(disk.dir, 'x.dump')]);
      expect(b.code, b.stderr).toBe(1);
      expect(b.stderr).toContain(`could not write ${join(disk.dir, 'x.dump.partial')}: the disk is full`);
      expect(b.stderr).toContain("what was written is removed; no file has the backup's name");
      expect(readdirSync(disk.dir)).toEqual([]);
      writeFileSync(join(disk.dir, 'y.dump.partial'), 'not ours\n');
      const y = await cli(['backup', '--dump-only', '--out', join(disk.dir, 'y.dump')]);
      expect(y.code, y.stderr).toBe(1);
      expect(y.stderr).toContain('a file of that name exists');
      expect(readdirSync(disk.dir)).toEqual(['y.dump.partial']);
      expect(readFileSync(join(disk.dir, 'y.dump.partial'), 'utf8')).toBe('not ours\n');
    } finally {
      disk.done();
    }
    // pg_dump was stopped, not left to dump into nothing (its session may take a moment to go).
    await waitFor('pg_dump to be gone', () => psql(stack.project, 'SELECT count(*) FROM pg_stat_activity WHERE application_name = $$pg_dump$$')[0]?.[0] === '0', 10_000, 100);
  });

  it('pg_dump compresses at level 1 unless backups.compress or --compress says otherwise, in the plain dump and in the archive', async () => {
    // The level a dump was written at is in its header: pg_restore --list prints it.
    const level = (dump: Buffer) => {
      const r = spawnSync('docker', ['exec', '-i', containerId(stack.project, 'postgres'), 'pg_restore', '--list'], { input: dump, encoding: 'buffer', maxBuffer: 64 << 20 });
      expect(r.status, r.stderr.toString()).toBe(0);
      return /^; +Compression: (\S+)$/m.exec(r.stdout.toString())?.[1];
    };
    const plain = await cli(['backup', '--dump-only', '--out', 'levels/default.dump']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toContain('pg_dump -Fc -Z 1 ');
    expect(level(readFileSync(join(stack.dir, 'levels/default.dump')))).toBe('1');
    // backups.compress in the spec, and --compress over it.
    const specText = readFileSync(spec, 'utf8');
    writeFileSync(spec, `${specText}\nbackups:\n  compress: 9\n`);
    try {
      const nine = await cli(['backup', '--dump-only', '--out', 'levels/nine.dump']);
      expect(nine.code, nine.stderr).toBe(0);
      expect(level(readFileSync(join(stack.dir, 'levels/nine.dump')))).toBe('9');
      const four = await cli(['backup', '--dump-only', '--compress', '4', '--out', 'levels/four.dump']);
      expect(four.code, four.stderr).toBe(0);
      expect(level(readFileSync(join(stack.dir, 'levels/four.dump')))).toBe('4');
    } finally {
      writeFileSync(spec, specText);
    }
    // The archive (not encrypted here, so that tar can read it): its dump member at the level asked.
    const archive = await cli(['backup', '--no-encrypt', '--compress', '0', '--out', 'levels/zero.pcbak']);
    expect(archive.code, archive.stderr).toBe(0);
    const members = spawnSync('tar', ['-xOf', join(stack.dir, 'levels/zero.pcbak'), '--wildcards', 'db/dump.*'], { encoding: 'buffer', maxBuffer: 256 << 20 });
    expect(members.status, members.stderr.toString()).toBe(0);
    expect(level(members.stdout)).toBe('0');
    const bad = await cli(['backup', '--compress', '10', '--out', 'levels/bad.pcbak']);
    expect(bad.code).toBe(2);
    expect(readdirSync(join(stack.dir, 'levels')).sort()).toEqual(['default.dump', 'default.dump.sha256', 'four.dump', 'four.dump.sha256', 'nine.dump', 'nine.dump.sha256', 'zero.pcbak']);
  });

  it('a corrupted backup is refused before anything stops', async () => {
    const b = await cli(['backup', '--dump-only', '--out', 'bad.dump']);
    expect(b.code).toBe(0);
    const f = join(stack.dir, 'bad.dump');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(f, Buffer.concat([readFileSync(f), Buffer.from('x')]));
    const r = await cli(['restore', f, '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('checksum mismatch');
    expect(inspectState(containerId(stack.project, 'backend')).Running).toBe(true);
  });
  it('a dump written over in place with another dump once the app stops: refused, the data as before, the app running', async () => {
    // Held open, the file cannot be swapped; written into, it could: the second read checks each MiB
    // against the first read's digests, and pg_restore gets garbage (its transaction rolls back) instead.
    // Before, pg_restore restored whatever the file held by then: here another valid dump, unchecked.
    const drop10 = () => psql(stack.project, 'DELETE FROM api_secretevent WHERE ctid IN (SELECT ctid FROM api_secretevent LIMIT 10)');
    drop10();
    expect((await cli(['backup', '--dump-only', '--out', 'other.dump'])).code).toBe(0);
    drop10();
    expect((await cli(['backup', '--dump-only', '--out', 'inplace.dump'])).code).toBe(0);
    drop10();
    const before = psql(stack.project, ROW_COUNTS);
    const f = join(stack.dir, 'inplace.dump');
    const otherBytes = readFileSync(join(stack.dir, 'other.dump'));
    const { err, exited } = startWatched('node', [CLI, '-f', spec, '-p', stack.project, 'restore', f, '--yes'], { cwd: stack.dir });
    await waitFor('the app to be stopping', () => err().includes('restore: stopping'), 60_000, 10);
    writeFileSync(f, otherBytes); // the same inode, truncated and written again
    expect(await exited, err()).toBe(1);
    expect(err()).toMatch(/phase-compose: .*inplace\.dump changed after it was checked: (bytes \d+ to \d+ differ|it grew|it shrank)/);
    expect(psql(stack.project, ROW_COUNTS)).toEqual(before);
    await waitFor('the backend to run again', () => inspectState(containerId(stack.project, 'backend')).Running, 60_000, 100);
  }, 120_000);

  // pg_dump waits for a lock before it writes a byte, so the signal lands mid-dump every time: a
  // transaction holds the events table exclusively (as a migration would), and the signal is sent once
  // pg_stat_activity shows pg_dump waiting on it.
  it.each([
    ['the archive', 'SIGINT', ['backup', '--out', 'stopped/x.pcbak'], 'the archive was written'],
    ['--dump-only', 'SIGTERM', ['backup', '--dump-only', '--out', 'stopped/x.dump'], 'the database was dumped'],
    // A closed terminal: before, the default action killed phase-compose with its temp file left and pg_dump running.
    ['the archive', 'SIGHUP', ['backup', '--out', 'stopped/y.pcbak'], 'the archive was written'],
  ] as const)('%s: %s during the dump stops pg_dump, leaves no file at all, exits 130', async (_, signal, args, what) => {
    const lock = await lockTable(stack.project, 'api_secretevent');
    try {
      const { child, err, exited } = startWatched('node', [CLI, '-f', spec, '-p', stack.project, ...args], {
        cwd: stack.dir,
        env: { ...process.env, PHASE_COMPOSE_BACKUP_PASSPHRASE: 'a passphrase long enough' },
      });
      await waitFor('pg_dump waiting on the lock', () => pgDumps(stack.project, true) === 1, 60_000, 100);
      child.kill(signal);
      expect(await exited, err()).toBe(130);
      expect(err()).toContain(`interrupted (${signal}) while ${what}: pg_dump was stopped`);
      expect(err()).toContain('what was written is removed; no file has the backup\'s name');
      expect(readdirSync(join(stack.dir, 'stopped'))).toEqual([]);
    } finally {
      lock.release();
    }
    // The lock gone, the stopped pg_dump has nowhere to write its first bytes, and ends.
    await waitFor('no pg_dump left', () => pgDumps(stack.project) === 0, 30_000, 250);
  }, 120_000);
});
