// The upgrade test bed and its harness (issue #13): the load generator counts what it should; the upgrade
// stack comes up on v1 with `phase-compose up` and serves both load paths (through nginx, and by service
// name inside the network) without a failure, with the order of its start-up read from Docker events.
// Then the baseline `phase-compose upgrade` is compared with: Compose's own `up -d` after the version
// changed to v2, under the same load. Its failures are printed, not asserted: they are Compose's count.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_LABEL, composeArgv } from './helpers/compose.js';
import { composeDown, psql } from './helpers/docker.js';
import { firstIndex, formatEvents, lastIndex, recordEvents, type EventRecorder, type StackEvent } from './helpers/events.js';
import { formatLoad, formatPoll, removePollers, runLoad, startLoad, startPoller } from './helpers/load.js';
import { runAsync } from './helpers/run.js';
import { APP_IMAGES, cliArgv, generateUpgradeStack, projectNetwork, serviceContainers, stackEnv, type UpgradeStack } from './helpers/upgrade.js';

describe('load generator', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    // /ok answers 200 with a version, /bad 503, /drop closes the connection without an answer.
    let n = 0;
    server = createServer((req, res) => {
      n++;
      if (req.url === '/bad/') return void res.writeHead(503).end('down');
      if (req.url === '/drop/') return void req.socket.destroy();
      if (req.url === '/mixed/' && n % 4 === 0) return void res.writeHead(500).end('oops');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ version: 'v9' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => server.close());

  it('sends at the rate for the duration and counts 2xx, non-2xx and connection errors', async () => {
    const t = Date.now();
    const ok = await runLoad({ port, path: '/mixed/', rate: 100, durationMs: 1000 });
    expect(Date.now() - t).toBeGreaterThanOrEqual(980);
    expect(ok.sent).toBe(100);
    expect(ok.ok + ok.non2xx).toBe(100);
    expect(ok.non2xx).toBe(25);
    expect(ok.versions).toEqual({ v9: 75 });
    expect(ok.failed).toBe(25);
    expect(ok.failures[0]).toMatchObject({ kind: 'status', detail: '500 oops' });

    const bad = await runLoad({ port, path: '/bad/', rate: 50, maxRequests: 10 });
    expect(bad).toMatchObject({ sent: 10, ok: 0, non2xx: 10, errors: 0, failed: 10 });
    const drop = await runLoad({ port, path: '/drop/', rate: 50, maxRequests: 10 });
    expect(drop).toMatchObject({ sent: 10, ok: 0, errors: 10, failed: 10 });
    expect(drop.failures[0]!.detail).toMatch(/^ECONNRESET/);
  });

  it('counts refused connections, and stop() ends a run early', async () => {
    const closed = await new Promise<number>((res) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    const run = startLoad({ port: closed, rate: 50, durationMs: 60_000 });
    await new Promise((r) => setTimeout(r, 300));
    const r = await run.stop();
    expect(r.sent).toBeGreaterThan(5);
    expect(r.sent).toBeLessThan(40);
    expect(r.errors).toBe(r.sent);
    expect(r.failures[0]!.detail).toMatch(/^ECONNREFUSED/);
  });
});

describe(`upgrade test bed: v1 under load, then Compose's own upgrade to v2 ${STACK_LABEL}`, () => {
  let stack: UpgradeStack;
  let rec: EventRecorder | undefined;
  let upEvents: StackEvent[] = [];

  beforeAll(async () => {
    stack = await generateUpgradeStack('harness');
  });
  afterAll(async () => {
    await rec?.stop(0);
    if (stack) {
      removePollers(stack.project);
      composeDown(stack);
      stack.cleanup();
    }
  });

  const is = (service: string, action: string, extra: Partial<StackEvent> = {}) => (e: StackEvent) =>
    e.type === 'container' && e.service === service && e.action === action && Object.entries(extra).every(([k, v]) => e[k as keyof StackEvent] === v);

  it('phase-compose up brings v1 up; Docker events show pre before the backends and post after them', async () => {
    rec = await recordEvents(stack.project, { network: `${stack.project}_default` });
    const r = await runAsync('node', cliArgv(stack, 'up'), { env: stackEnv() });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    upEvents = await rec.stop();
    rec = undefined;
    const ev = upEvents;
    const preDied = firstIndex(ev, is('migrations', 'die', { exitCode: 0 }));
    const firstBackendStart = firstIndex(ev, is('backend', 'start'));
    const lastBackendHealthy = lastIndex(ev, (e) => is('backend', 'health_status')(e) && e.health === 'healthy');
    const postStart = firstIndex(ev, is('migrations-post', 'start'));
    expect(preDied, formatEvents(ev)).toBeGreaterThanOrEqual(0);
    expect(firstBackendStart).toBeGreaterThan(preDied);
    expect(postStart).toBeGreaterThan(firstIndex(ev, (e) => is('backend', 'health_status')(e) && e.health === 'healthy'));
    expect(lastBackendHealthy).toBeGreaterThan(firstBackendStart);
    // Two replicas, both v1; their network connects are recorded with the service they belong to.
    expect(new Set(ev.filter(is('backend', 'start')).map((e) => e.number))).toEqual(new Set([1, 2]));
    expect(ev.filter(is('backend', 'start')).every((e) => e.image === APP_IMAGES.v1)).toBe(true);
    expect(ev.some((e) => e.type === 'network' && e.action === 'connect' && e.service === 'backend')).toBe(true);
    expect(serviceContainers(stack.project, 'backend').map((c) => [c.image, c.health])).toEqual([
      [APP_IMAGES.v1, 'healthy'], [APP_IMAGES.v1, 'healthy'],
    ]);
  });

  it('v1 serves 50 requests/s through nginx and a client by service name inside the network: 0 failures', async () => {
    expect(upEvents.length, 'up did not run').toBeGreaterThan(0);
    const poller = await startPoller({ project: stack.project, network: projectNetwork(stack.project) });
    const load = await runLoad({ port: stack.port, rate: 50, durationMs: 10_000 });
    const poll = await poller.stop();
    console.log(`v1 steady, through nginx: ${formatLoad(load)}\nv1 steady, backend:8000 in the network: ${formatPoll(poll)}`);
    expect(load.failures).toEqual([]);
    expect(load.ok).toBe(500);
    expect(load.versions).toEqual({ v1: 500 });
    expect(poll.failures).toEqual([]);
    expect(poll.sent).toBeGreaterThanOrEqual(50);
    expect(poll.summary).toBe(`poll-summary sent=${poll.sent} ok=${poll.sent} fail=0`);
    // Docker's DNS answers `backend` with both replicas.
    expect(Object.keys(poll.peers)).toHaveLength(2);
  });

  it("v2's fault switches: a failing pre migration changes nothing and v1 keeps serving; crash on start; never healthy", async () => {
    expect(upEvents.length, 'up did not run').toBeGreaterThan(0);
    const network = projectNetwork(stack.project);
    const v2 = (env: string[], ...argv: string[]) => runAsync('docker', [
      'run', '--rm', '--network', network, '--env-file', `${stack.dir}/.env`, ...env.flatMap((e) => ['-e', e]), APP_IMAGES.v2, ...argv,
    ]);
    const failed = await v2(['FIXTURE_FAIL_MIGRATION=v2'], 'python', 'manage.py', 'migrate_phase', 'pre');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('fixture: migration failed on purpose (release_v2.0001_probe_note)');
    // Atomic: the column it added first is gone again, nothing is recorded, and v1 still writes and reads.
    expect(psql(stack.project, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'load_probe' AND column_name = 'note'")).toEqual([['0']]);
    const check = await v2([], 'python', 'manage.py', 'migrate_phase', 'pre', '--check');
    expect(check.code).toBe(1);
    expect(check.stdout).toBe('pre-deploy migrations pending: 1\n  release_v2.0001_probe_note\n');
    const load = await runLoad({ port: stack.port, rate: 50, maxRequests: 20 });
    expect(load.versions).toEqual({ v1: 20 });

    const crash = await v2(['FIXTURE_CRASH_ON_START=v2'], 'timeout', '60', '/app/scripts/start.sh');
    expect(crash.code).toBe(1);
    expect(crash.stderr).toContain('start.sh: crashing on purpose (FIXTURE_CRASH_ON_START=v2)');
    const sick = await v2(['FIXTURE_NEVER_HEALTHY=v2', 'EXTERNAL_MIGRATION=true'], 'sh', '-c',
      'python -m gunicorn fixture.wsgi:application --bind 127.0.0.1:8000 --daemon && sleep 3 && ' +
      'curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:8000/health/');
    expect(sick.stdout).toBe('503');
  });

  it("baseline: Compose's own `up -d` after FIXTURE_APP_VERSION=v2, under the same load (failures printed, not asserted)", async () => {
    expect(upEvents.length, 'up did not run').toBeGreaterThan(0);
    rec = await recordEvents(stack.project, { network: projectNetwork(stack.project) });
    const poller = await startPoller({ project: stack.project, network: projectNetwork(stack.project) });
    const load = startLoad({ port: stack.port, rate: 50, durationMs: 600_000 });
    await new Promise((r) => setTimeout(r, 2000));
    stack.setVersion('v2');
    const [cmd, ...pre] = composeArgv();
    const t = Date.now();
    const up = await runAsync(cmd!, [...pre, '-p', stack.project, '-f', stack.composeFile, 'up', '-d'], { cwd: stack.dir, env: stackEnv() });
    const took = Date.now() - t;
    await new Promise((r) => setTimeout(r, 5000));
    const [l, p] = [await load.stop(), await poller.stop()];
    const ev = await rec.stop();
    rec = undefined;
    console.log([
      `Compose ${composeArgv().join(' ')} up -d, v1 -> v2: exit ${up.code} in ${(took / 1000).toFixed(1)} s`,
      `  through nginx:              ${formatLoad(l)}`,
      `  backend:8000 in network:    ${formatPoll(p)}`,
      `  first failures (nginx):     ${JSON.stringify(l.failures.slice(0, 5))}`,
      `  first failures (in network): ${JSON.stringify(p.failures.slice(0, 5))}`,
      `  events:\n${formatEvents(ev).replace(/^/gm, '    ')}`,
    ].join('\n'));
    expect(up.code, up.stderr).toBe(0);
    // Compose did replace v1 by v2 and ran both migration phases of v2.
    expect(serviceContainers(stack.project, 'backend').map((c) => c.image)).toEqual([APP_IMAGES.v2, APP_IMAGES.v2]);
    const applied = psql(stack.project, "SELECT app || '.' || name FROM django_migrations WHERE app IN ('release_v2', 'postdeploy_v2') ORDER BY id").map((r) => r[0]);
    expect(applied).toEqual(['release_v2.0001_probe_note', 'postdeploy_v2.0001_drop_probe_legacy_note']);
    expect(firstIndex(ev, is('migrations', 'die', { exitCode: 0 }))).toBeLessThan(firstIndex(ev, (e) => is('backend', 'start')(e) && e.image === APP_IMAGES.v2));
  });
});
