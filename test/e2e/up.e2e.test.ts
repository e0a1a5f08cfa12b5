// `phase-compose up` on the fixture stack: order from Docker events, migration gating, skip on a second
// run, a failing migration with its backup, a never-healthy service, the lock, Ctrl-C; `migrate`,
// `status` and `down`.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { STACK, STACK_LABEL, composeArgv, containerNamePattern } from './helpers/compose.js';
import { composeDown, containerId, inspectState, lockTable, pgDumps, uniqueProject, waitFor } from './helpers/docker.js';
import { runAsync, startWatched } from './helpers/run.js';
import { copyFixtureSpec } from './helpers/stack.js';

const root = join(import.meta.dirname, '../..');
const cli = join(root, 'dist/cli.js');
const projects: string[] = [];

function stackDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pc-up-e2e-'));
  copyFixtureSpec(dir);
  return dir;
}
async function up(dir: string, project: string, args: string[] = [], env: Record<string, string> = {}) {
  if (!projects.includes(project)) projects.push(project);
  const r = await runAsync('node', [cli, '-f', join(dir, 'phase-compose.yaml'), '-p', project, 'up', ...args], { env: { ...process.env, ...env } });
  return { code: r.code, out: r.stdout, err: r.stderr };
}
/** Actions of the project's containers from Docker events: "service action". */
function events(project: string, since: number): string[] {
  const r = spawnSync('docker', ['events', '--since', String(Math.floor(since / 1000) - 1), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'type=container', '--format', '{{index .Actor.Attributes "com.docker.compose.service"}} {{.Action}}'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l && !l.includes(' exec_'));
}

// Each test's stacks go as soon as it ends: stacks left running (one never turns healthy, so Docker probes it
// every 2 s) slowed the later tests of this file up to threefold on 2 cores (the last one: 86 s, 31 s alone).
afterEach(() => {
  for (const p of projects.splice(0)) composeDown(p);
});

describe(`phase-compose up ${STACK_LABEL}`, () => {
  it('happy path: pre migrations, then backend and worker, post beside them (a cold start: no old code serves); a second up skips migrations', async () => {
    const dir = stackDir();
    const p = uniqueProject('uphappy');
    const t = Date.now();
    const r = await up(dir, p);
    expect(r.code, r.err).toBe(0);
    const ev = events(p, t);
    const at = (x: string) => ev.indexOf(x);
    expect(at('migrations die')).toBeGreaterThan(at('migrations start'));
    expect(at('backend create')).toBeGreaterThan(at('migrations die'));
    expect(at('worker start')).toBeGreaterThan(at('migrations die'));
    // Nothing ran before this up, so the post phase waits only for the pre phase, not for the app.
    expect(at('migrations-post start')).toBeGreaterThan(at('migrations die'));
    expect(at('migrations-post create')).toBeGreaterThan(at('migrations die'));
    expect(r.out).toContain('migrations-post: no app container was running');
    // A database this run created holds nothing: no backup, and the output says why.
    expect(r.out).toContain('no backup before migrations: the database was created by this run');
    expect(existsSync(join(dir, 'backups'))).toBe(false);
    // The warning about Compose v2's --no-deps hash (docker/compose#12069) names exactly the services whose
    // label disagrees with what a plain Compose computes (`config --hash`), and nothing where all agree.
    const [cc, ...cpre] = composeArgv();
    const hashOut = spawnSync(cc!, [...cpre, '-p', p, '-f', join(dir, 'docker-compose.yml'), 'config', '--hash=*'], { cwd: dir, encoding: 'utf8' });
    expect(hashOut.status, hashOut.stderr).toBe(0);
    const want = new Map(hashOut.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/) as [string, string]));
    const fmt = '{{.Label "com.docker.compose.service"}} {{.Label "com.docker.compose.config-hash"}}';
    const labelled = spawnSync('docker', ['ps', '-a', '--filter', `label=com.docker.compose.project=${p}`, '--format', fmt], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(labelled.length).toBeGreaterThanOrEqual(6);
    const drifted = [...new Set(labelled.map((l) => l.split(' ')).filter(([svc, h]) => want.get(svc!) !== h).map(([svc]) => svc!))].sort();
    const named = /warning: Compose \S+ created (.+?) with a config hash that leaves out depends_on/.exec(r.err)?.[1]?.split(', ') ?? [];
    expect(named).toEqual(drifted);
    // Compose 2.26.1 (stack v2) is affected, 1.29.2 is not: neither side of the check is empty by accident.
    expect(drifted.length > 0).toBe(STACK === 'v2');

    const t2 = Date.now();
    const again = await up(dir, p);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain('no pre-deploy migrations pending; skipped');
    expect(events(p, t2).filter((l) => l.startsWith('migrations'))).toEqual([]);

    // A healthcheck-only change: up refuses (Compose would recreate every replica at once); `up --recreate
    // backend` applies it, and is recorded, so the next up finds nothing changed (until 2026-11-29 an up of
    // some services recorded nothing, and the next up refused an unchanged stack).
    const specPath = join(dir, 'phase-compose.yaml');
    const spec = readFileSync(specPath, 'utf8');
    expect(spec).toContain('      interval: 5s\n');
    writeFileSync(specPath, spec.replace('      interval: 5s\n', '      interval: 4s\n'));
    const refused = await up(dir, p);
    expect(refused.code, refused.err).toBe(1);
    expect(refused.err).toContain('the stack is running and backend (healthcheck) changed');
    // An up of another service leaves the changed backend alone, so it is not refused over it (until
    // 2026-11-29 it was), and backend's containers stay as they were.
    const ids = (svc: string) => spawnSync('docker', ['ps', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${p}`, '--filter', `label=com.docker.compose.service=${svc}`], { encoding: 'utf8' }).stdout.trim().split('\n').sort();
    const backendBefore = ids('backend');
    const workerOnly = await up(dir, p, ['worker']);
    expect(workerOnly.code, workerOnly.err).toBe(0);
    expect(ids('backend')).toEqual(backendBefore);
    expect((await up(dir, p)).err).toContain('the stack is running and backend (healthcheck) changed');
    const recreated = await up(dir, p, ['--recreate', 'backend']);
    expect(recreated.code, recreated.err).toBe(0);
    const settled = await up(dir, p);
    expect(settled.code, settled.err).toBe(0);
  });

  it('a running stack whose backend never turns healthy: a failed up --recreate is recorded; a timed-out up and Ctrl-C on its terminal leave the app running', async () => {
    const dir = stackDir();
    const p = uniqueProject('upsickrun');
    const first = await up(dir, p);
    expect(first.code, first.err).toBe(0);
    const ids = (svc: string) => spawnSync('docker', ['ps', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${p}`, '--filter', `label=com.docker.compose.service=${svc}`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).sort();
    const specPath = join(dir, 'phase-compose.yaml');
    const spec = readFileSync(specPath, 'utf8');
    expect(spec).toContain('      interval: 5s\n');
    writeFileSync(specPath, spec.replace('      interval: 5s\n', '      interval: 3s\n'));
    const sick = { FIXTURE_NEVER_HEALTHY: '1' };

    // An `up --recreate` that fails once Compose recreated the backend (never healthy, so it times out):
    // the new container runs from the new files, and the record says so; so the next `up` with the same
    // spec and env is not refused over that change (until 2026-11-29 it was: "backend (healthcheck) changed").
    const old = ids('backend');
    const failed = await up(dir, p, ['--recreate', '--timeout', '18s'], sick);
    expect(failed.code, failed.err).toBe(5);
    const app = { backend: ids('backend'), worker: ids('worker') };
    expect(app.backend).toHaveLength(1);
    expect(app.worker).toHaveLength(1);
    expect(app.backend.filter((id) => old.includes(id))).toEqual([]); // recreated, and running
    expect(readFileSync(join(dir, '.phase-compose', `${p}.deployed-compose.yml`), 'utf8')).toContain('interval: "3s"');

    // The next `up` waits for the backend again and times out. Compose v1 holds the batch's creation (the
    // post phase waits on the running backend's health) until then, and stopped backend and worker on the
    // SIGTERM that ended it (until 2026-11-29): a timed-out `up` took the running app down.
    const next = await up(dir, p, ['--timeout', '12s'], sick);
    expect(next.err).not.toContain('the stack is running and');
    expect(next.code, next.err).toBe(5);
    // The report says why, on both: on Compose v1 the run never tracked the held backend, and until
    // 2026-11-29 it said only "backend waiting", with no health log or output.
    const why = `${next.out}\n${next.err}`;
    expect(why).toMatch(/✗ backend \(\S+[-_]backend[-_]1\) not healthy after 12s/);
    if (STACK === 'v1') expect(why).toContain('a container from before this run, which Compose was still waiting on');
    expect(why).toContain('health log (newest last):');
    expect(why).toContain('The requested URL returned error: 503');
    expect({ backend: ids('backend'), worker: ids('worker') }).toEqual(app);
    expect(inspectState(app.backend[0]!).Running).toBe(true);

    // Ctrl-C on a terminal reaches its whole process group: Compose v1 got it too, and stopped them as well.
    // The run leads a group (and session) of its own here, as a shell's job does.
    const run = spawn('node', [cli, '-f', specPath, '-p', p, 'up', '--timeout', '60s'], { env: { ...process.env, ...sick }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    run.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    run.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = once(run, 'exit') as Promise<[number | null, string | null]>;
    /** The run's Compose calls now: pid, session id, seconds since they started. */
    const composeCalls = () =>
      spawnSync('ps', ['-o', 'pid=,sid=,etimes=,args=', '--ppid', String(run.pid)], { encoding: 'utf8' }).stdout.split('\n')
        .filter((l) => /docker[- ]compose /.test(l)).map((l) => l.trim().split(/\s+/).slice(0, 3).map(Number) as [number, number, number]);
    try {
      // Its first Compose call (the data services, started at once) leads a session of its own: the
      // terminal's signals do not reach it (until 2026-11-29 it was in the run's).
      const [pid, sid] = (await waitFor('a Compose call', () => composeCalls()[0], 60_000, 20))!;
      expect(sid).toBe(pid);
      await waitFor('the migrations skipped', () => /migrations +skipped/.test(out), 60_000, 100);
      // Compose v1 holds the app's batch (the post phase waits on the running backend's health): once it
      // has run 2 s it is past its start-up and would stop them on a signal. Compose v2 is done by then.
      if (STACK === 'v1') await waitFor('the app\'s batch held by Compose v1', () => composeCalls().some(([, , age]) => age >= 2), 60_000, 100);
      else await new Promise((r) => setTimeout(r, 2000));
      process.kill(-run.pid!, 'SIGINT');
      const [code] = await exited;
      expect(code, out).toBe(130);
    } finally {
      try {
        process.kill(-run.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    expect({ backend: ids('backend'), worker: ids('worker') }).toEqual(app);
    expect(inspectState(app.backend[0]!).Running).toBe(true);
    expect(inspectState(app.worker[0]!).Running).toBe(true);
  }, 300_000);

  it('a failing migration: backend and worker never created, the report shows its error, the backup from before restores', async () => {
    const dir = stackDir();
    const p = uniqueProject('upfail');
    const pc = async (...args: string[]) => {
      const r = await runAsync('node', [cli, '-f', join(dir, 'phase-compose.yaml'), '-p', p, ...args]);
      return { status: r.code, stdout: r.stdout, stderr: r.stderr };
    };
    const psql = (sql: string) => {
      const id = spawnSync('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${p}`, '--filter', 'label=com.docker.compose.service=postgres'], { encoding: 'utf8' }).stdout.trim();
      const r = spawnSync('docker', ['exec', id, 'sh', '-c', 'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -At -v ON_ERROR_STOP=1 -c "$1"', 'sh', sql], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    // Data that predates the attempt: the database runs (data services only) and holds a table.
    projects.push(p);
    expect((await pc('generate', '-q')).status).toBe(0);
    const [composeCmd, ...composePre] = composeArgv();
    const compose = spawnSync(composeCmd!, [...composePre, '-p', p, '-f', join(dir, 'docker-compose.yml'), 'up', '-d', 'postgres', 'redis'], { cwd: dir, encoding: 'utf8' });
    expect(compose.status, compose.stderr).toBe(0);
    for (let i = 0; i < 60 && spawnSync('docker', ['exec', spawnSync('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${p}`, '--filter', 'label=com.docker.compose.service=postgres'], { encoding: 'utf8' }).stdout.trim(), 'pg_isready', '-h', '127.0.0.1'], { encoding: 'utf8' }).status !== 0; i++) spawnSync('sleep', ['1']);
    psql('CREATE TABLE precious (n int); INSERT INTO precious SELECT generate_series(1, 1234);');

    const t = Date.now();
    const r = await up(dir, p, [], { FIXTURE_FAIL_MIGRATION: '1' });
    expect(r.code).toBe(4);
    expect(r.err).toContain('fixture: migration failed on purpose');
    expect(r.err).toMatch(new RegExp(`docker logs \\S*${containerNamePattern('migrations').source}`));
    expect(r.err).toContain('not started (they wait on migrations): backend, worker');
    const ev = events(p, t);
    expect(ev.filter((l) => /^(backend|worker) /.test(l))).toEqual([]);
    const dumps = readdirSync(join(dir, 'backups')).filter((f) => f.endsWith('.dump'));
    expect(dumps).toHaveLength(1);

    // The backup from before the attempt restores what was there.
    psql('DROP TABLE precious;');
    const restored = await pc('restore', join(dir, 'backups', dumps[0]!), '--yes');
    expect(restored.status, restored.stderr).toBe(0);
    expect(psql('SELECT count(*) FROM precious')).toBe('1234');
  });

  it('a service that never turns healthy: stops at the timeout with the health log', async () => {
    const dir = stackDir();
    const p = uniqueProject('upsick');
    const r = await up(dir, p, ['--timeout', '18s'], { FIXTURE_NEVER_HEALTHY: '1' });
    expect(r.code).toBe(5);
    expect(r.err).toContain('backend');
    expect(r.err).toMatch(/health log|last healthcheck run/);
    expect(r.err).toContain('503');
  });

  it('a usage error after the first batch\'s Compose was spawned exits 2 and leaves no Compose waiting', async () => {
    const dir = stackDir();
    const p = uniqueProject('upusage');
    const t = Date.now();
    // The first batch's Compose process starts (behind its gate) before --timeout is read; it used to be
    // left waiting there and the command never exited. spawnSync's timeout turns a hang into a failure.
    const r = spawnSync('node', [cli, '-f', join(dir, 'phase-compose.yaml'), '-p', p, 'up', '--timeout', 'banana'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.signal, 'the command hung').toBeNull();
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--timeout: not a duration');
    expect(events(p, t)).toEqual([]);
  });

  it('a second concurrent up is refused at once', async () => {
    const dir = stackDir();
    const p = uniqueProject('uplock');
    projects.push(p);
    const first = spawn('node', [cli, '-f', join(dir, 'phase-compose.yaml'), '-p', p, 'up'], { stdio: 'ignore' });
    const exited = new Promise<number>((res) => first.on('exit', (c) => res(c ?? -1)));
    await new Promise((res) => setTimeout(res, 1500));
    // Out of date with the spec (a comment Compose ignores): a second up that took it would rewrite it.
    const composeFile = join(dir, 'docker-compose.yml');
    appendFileSync(composeFile, '# edited while the first up runs\n');
    const before = readFileSync(composeFile);
    const t = Date.now();
    const second = await up(dir, p);
    expect(Date.now() - t).toBeLessThan(5000);
    expect(second.code).toBe(6);
    expect(second.err).toContain('is running on project');
    expect(readFileSync(composeFile)).toEqual(before);
    expect(await exited).toBe(0);
  });

  it('Ctrl-C: stops waiting, leaves the containers as they are, says where each service stood, exits 130', async () => {
    const dir = stackDir();
    const p = uniqueProject('upsigint');
    projects.push(p);
    const child = spawn('node', [cli, '-f', join(dir, 'phase-compose.yaml'), '-p', p, 'up'], { env: { ...process.env, FIXTURE_SLOW_MIGRATION_S: '120' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    const exited = once(child, 'exit');
    const deadline = Date.now() + 60_000;
    while (!/migrations +running/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(out).toMatch(/migrations +running/);
    const t = Date.now();
    child.kill('SIGINT');
    const [code] = await exited;
    expect(Date.now() - t).toBeLessThan(5000);
    expect(code).toBe(130);
    expect(err).toMatch(/interrupted after [\d.]+s; containers are left as they are/);
    expect(err).toMatch(/migrations +running/);
    expect(err).toMatch(/backend +waiting/);
    // Left as it was: the migration still runs.
    expect(inspectState(containerId(p, 'migrations')).Running).toBe(true);
  });

  it('Ctrl-C during the backup before migrations: pg_dump stopped, its .partial removed, exits 130', async () => {
    const dir = stackDir();
    const p = uniqueProject('upbackupint');
    projects.push(p);
    expect((await up(dir, p)).code).toBe(0);
    // The second up backs up first (the database is not new): pg_dump waits on the lock until the signal.
    const lock = await lockTable(p, 'api_secretevent');
    try {
      const { child, err, exited } = startWatched('node', [cli, '-f', join(dir, 'phase-compose.yaml'), '-p', p, 'up', '--force-migrations']);
      await waitFor('pg_dump waiting on the lock', () => pgDumps(p, true) === 1, 60_000, 100);
      expect(readdirSync(join(dir, 'backups')).filter((f) => f.endsWith('.partial'))).toHaveLength(1);
      child.kill('SIGINT');
      expect(await exited, err()).toBe(130);
      expect(err()).toMatch(/migrations +backing up/);
      expect(readdirSync(join(dir, 'backups'))).toEqual([]);
    } finally {
      lock.release();
    }
    await waitFor('no pg_dump left', () => pgDumps(p) === 0, 30_000, 250);
  });

  it('migrate, status and down: phases alone, pending per phase, containers and volumes removed as asked', async () => {
    const dir = stackDir();
    const p = uniqueProject('migrate');
    projects.push(p);
    const pc = async (...args: string[]) => {
      const r = await runAsync('node', [cli, '-f', join(dir, 'phase-compose.yaml'), '-p', p, ...args]);
      return { code: r.code, out: r.stdout, err: r.stderr };
    };
    type Row = { service: string; role: string; state: string; pending?: boolean };
    const status = async (): Promise<Record<string, Row>> => {
      const r = await pc('status', '--json');
      expect(r.code, r.err).toBe(0);
      return Object.fromEntries((JSON.parse(r.out) as { services: Row[] }).services.map((x) => [x.service, x]));
    };
    const t = Date.now();
    const pre = await pc('migrate', '--phase', 'pre');
    expect(pre.code, pre.err).toBe(0);
    expect(pre.out).toContain(`migrate ${p}: ready`);
    expect(events(p, t).filter((l) => /^(backend|worker|migrations-post) /.test(l))).toEqual([]);
    let s = await status();
    expect(s.migrations).toMatchObject({ role: 'migrations (pre)', state: 'exited (0)', pending: false });
    expect(s['migrations-post']).toMatchObject({ role: 'migrations (post)', state: 'not created' });
    expect(s.backend!.state).toBe('not created');
    expect(s.postgres!.state).toBe('running');

    // The post phase's own check says it is pending, until it ran.
    const post = await pc('migrate', '--phase', 'post');
    expect(post.code, post.err).toBe(0);
    expect((await status())['migrations-post']).toMatchObject({ state: 'exited (0)', pending: false });
    const again = await pc('migrate');
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain('no pre-deploy migrations pending; skipped');
    expect(again.out).toContain('no post-deploy migrations pending; skipped');

    const table = await pc('status');
    expect(table.out).toMatch(/^SERVICE +ROLE +CONTAINER +IMAGE +STATE +HEALTH +SINCE +PENDING$/m);
    expect(table.out).toMatch(/^postgres +data +\S+ +phase-compose-fixture-postgres:latest +running +healthy /m);
    expect(table.out).not.toContain('note:');

    const volumes = () => spawnSync('docker', ['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${p}`], { encoding: 'utf8' }).stdout.trim();
    const containers = () => spawnSync('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${p}`], { encoding: 'utf8' }).stdout.trim();
    expect((await pc('down')).code).toBe(0);
    expect(containers()).toBe('');
    expect(volumes()).not.toBe('');
    s = await status();
    expect(s.postgres!.state).toBe('not created');
    expect((await pc('down', '-v')).code).toBe(0);
    expect(volumes()).toBe('');
  });
});
