// The runner's decisions as tables: a state (built from the facts the loop records) → the actions.
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/up/decide.js';
import { NO_BACKUP_FRESH } from '../../../src/up/pending.js';
import { buildPlan } from '../../../src/up/plan.js';
import { apply, MAX_PORT_WATCHES, runnerState, type Action, type RunnerState, type StepPhase } from '../../../src/up/runner-state.js';
import type { ContainerState } from '../../../src/up/state.js';
import { demoSpec } from './demo-spec.js';

const plan = buildPlan(demoSpec);
const T0 = 1_000_000;
const TIMEOUT = 60_000;
const HEALTHY = ['postgres', 'redis', 'backend', 'nginx'];

type Fact = (s: RunnerState) => void;
const at = (ms: number): Fact => (s) => void (s.now = T0 + ms);
const raw = (action: string, service: string, id: string, t: number, attrs: Record<string, string> = {}) => ({
  Type: 'container', Action: action, Actor: { ID: id, Attributes: { 'com.docker.compose.service': service, name: `demo_${id}`, ...attrs } }, timeNano: t * 1e6,
});
/** Compose created container `id` (its create event), `ms` after the start. */
const created = (service: string, id: string, ms = 0): Fact => (s) => apply(s, { type: 'engine-event', raw: raw('create', service, id, T0 + ms) });
const released = (batch: number): Fact => (s) => apply(s, { type: 'create', batch });
const composeDone = (batch: number): Fact => (s) => apply(s, { type: 'compose-done', batch });
const listed = (batch: number, byService: Record<string, string[]>): Fact => (s) => apply(s, { type: 'listed', batch, byService: new Map(Object.entries(byService)) });
const stage = (batch: number, st: RunnerState['batches'][number]['stage']): Fact => (s) => void (s.batches[batch]!.stage = st);
/** Inspected: container `id` of `service` is `status` (with a healthcheck where the service has one). */
const container = (service: string, id: string, status: ContainerState['status'], more: { health?: 'starting' | 'healthy' | 'unhealthy'; exitCode?: number } = {}): Fact => (s) =>
  apply(s, {
    type: 'inspected',
    service,
    inspected: {
      obs: { type: 'inspect', id, name: `demo_${id}`, service, status, ...more, time: s.now },
      ...(HEALTHY.includes(service) ? { healthTest: ['CMD', 'probe', service], healthTimeoutMs: 1000 } : {}),
      volumes: service === 'postgres' ? ['demo_pgdata'] : [],
    },
  });
const tracked = (service: string, ...ids: string[]): Fact => (s) => apply(s, { type: 'tracked', service, ids });
const phase = (service: string, p: StepPhase): Fact => (s) => void s.phase.set(service, p);
const readyAt = (service: string): Fact => (s) => void s.readyAt.set(service, T0);
/** The loop ended the probe of container `id` (it passed, or Docker's healthcheck did). */
const probeOver = (id: string): Fact => (s) => apply(s, { type: 'stop-probe', id });
/** A service that is up and was seen ready. */
const up = (service: string, id: string): Fact[] => [
  container(service, id, 'running', HEALTHY.includes(service) ? { health: 'healthy' } : {}), tracked(service, id), phase(service, 'started'), readyAt(service), probeOver(id),
];
/** A job that ran to exit 0 in this run. */
const done = (service: string, id: string): Fact[] => [container(service, id, 'exited', { exitCode: 0 }), tracked(service, id), phase(service, 'started'), readyAt(service)];
const freshDb: Fact = (s) => apply(s, { type: 'engine-event', raw: { Type: 'volume', Action: 'create', Actor: { ID: 'demo_pgdata' } } });
const checked = (service: string, pending: boolean, fresh = false): Fact => (s) => apply(s, { type: 'checked', service, answer: { pending, fresh } });
const set = (f: (s: RunnerState) => void): Fact => f;

/** The first batch is tracked and its data services are up. */
const dataUp: Fact[] = [stage(0, 'tracking'), stage(1, 'prepared'), ...up('postgres', 'p1'), ...up('redis', 'r1'), container('migrations', 'm1', 'created'), tracked('migrations', 'm1')];

type Opts = { backup?: boolean; force?: boolean; watch?: boolean; interval?: number };

function state(facts: Fact[], o: Opts = {}): RunnerState {
  const s = runnerState(structuredClone(plan), { project: 'demo', timeoutMs: TIMEOUT, forceMigrations: !!o.force, probeIntervalMs: o.interval ?? 250, watchPorts: !!o.watch, backup: o.backup ?? true }, T0);
  for (const f of facts) f(s);
  return s;
}

/** Postgres started (its healthcheck starting), redis up; its port watched and probed once, which failed. */
const pgProbedOnce: Fact[] = [
  stage(0, 'tracking'), stage(1, 'prepared'), container('postgres', 'p1', 'running', { health: 'starting' }), tracked('postgres', 'p1'), phase('postgres', 'started'), ...up('redis', 'r1'),
  (s) => apply(s, { type: 'watch-port', id: 'p1', port: 5432 }), (s) => apply(s, { type: 'probe', id: 'p1', argv: [], timeoutMs: 1000 }), at(40), (s) => apply(s, { type: 'probed', id: 'p1', ok: false, output: 'no response' }),
];
const portOpen = (id: string, ms: number): Fact[] => [at(ms), (s) => apply(s, { type: 'port-open', id })];

const rows: Array<[string, Fact[], Action[], Opts?]> = [
  ['a new run releases the first batch', [], [{ type: 'create', batch: 0 }]],
  ['a released batch waits until Compose created all of it (and looks again in 250 ms)', [released(0), created('postgres', 'p1'), created('redis', 'r1'), at(10)], [{ type: 'wait', until: T0 + 260 }]],
  ['all of it created: inspect and track it', [released(0), created('postgres', 'p1'), created('redis', 'r1'), created('migrations', 'm1')], [{ type: 'track', batch: 0, ids: [['postgres', ['p1']], ['redis', ['r1']], ['migrations', ['m1']]] }]],
  ['a replicated service waits for every replica', [stage(0, 'tracking'), ...up('postgres', 'p1'), ...up('redis', 'r1'), ...done('migrations', 'm1'), released(1), created('backend', 'b1'), created('worker', 'w1'), created('migrations-post', 'q1'), created('nginx', 'n1')], [{ type: 'wait', until: T0 + 250 }]],
  ['Compose ended without an event for some: list the project', [at(5000), released(0), created('postgres', 'old', 0), created('redis', 'r1', 5000), composeDone(0)], [{ type: 'list', batch: 0 }]],
  ['listed: events where there were some, the list for the rest', [at(5000), released(0), created('postgres', 'old', 0), created('redis', 'r1', 5000), composeDone(0), listed(0, { postgres: ['p0'], redis: ['r0'], migrations: ['m0'] })], [{ type: 'track', batch: 0, ids: [['postgres', ['p0']], ['redis', ['r1']], ['migrations', ['m0']]] }]],
  ['tracked: the data services start, the next batch is prepared, the migration waits for them', [stage(0, 'tracking'), container('postgres', 'p1', 'created'), tracked('postgres', 'p1'), container('redis', 'r1', 'created'), tracked('redis', 'r1'), container('migrations', 'm1', 'created'), tracked('migrations', 'm1')], [{ type: 'prepare', batch: 1 }, { type: 'start', service: 'postgres', notes: [] }, { type: 'start', service: 'redis', notes: [] }]],
  ['started, healthcheck starting: probe each container', [stage(0, 'tracking'), stage(1, 'prepared'), container('postgres', 'p1', 'running', { health: 'starting' }), tracked('postgres', 'p1'), phase('postgres', 'started'), ...up('redis', 'r1')], [{ type: 'probe', id: 'p1', argv: ['probe', 'postgres'], timeoutMs: 1000 }]],
  ['a probe under way is not doubled; the next is due 250 ms after the last began', [stage(0, 'tracking'), stage(1, 'prepared'), container('postgres', 'p1', 'running', { health: 'starting' }), tracked('postgres', 'p1'), phase('postgres', 'started'), ...up('redis', 'r1'), (s) => apply(s, { type: 'probe', id: 'p1', argv: [], timeoutMs: 1000 }), at(40), (s) => apply(s, { type: 'probed', id: 'p1', ok: false, output: '503' }), at(100)], [{ type: 'wait', until: T0 + 250 }]],
  ['a local Engine: the health port the plan names is watched beside the first probe', [stage(0, 'tracking'), stage(1, 'prepared'), container('postgres', 'p1', 'running', { health: 'starting' }), tracked('postgres', 'p1'), phase('postgres', 'started'), ...up('redis', 'r1')], [{ type: 'watch-port', id: 'p1', port: 5432 }, { type: 'probe', id: 'p1', argv: ['probe', 'postgres'], timeoutMs: 1000 }], { watch: true }],
  ['a watched port still closed: the next probe waits for the interval', [...pgProbedOnce, at(900)], [{ type: 'wait', until: T0 + 1000 }], { watch: true, interval: 1000 }],
  ['the port opened: the probe runs now, not at the interval', [...pgProbedOnce, ...portOpen('p1', 300)], [{ type: 'probe', id: 'p1', argv: ['probe', 'postgres'], timeoutMs: 1000 }], { watch: true, interval: 1000 }],
  ['port open and a probe failed: the next one is due 250 ms after it began', [...pgProbedOnce, ...portOpen('p1', 300), (s) => apply(s, { type: 'probe', id: 'p1', argv: [], timeoutMs: 1000 }), at(340), (s) => apply(s, { type: 'probed', id: 'p1', ok: false, output: 'starting up' })], [{ type: 'wait', until: T0 + 550 }], { watch: true, interval: 1000 }],
  ['open for 3 s and still failing (an app warming up): back to the set interval', [...pgProbedOnce, ...portOpen('p1', 300), at(3350), (s) => apply(s, { type: 'probe', id: 'p1', argv: [], timeoutMs: 1000 }), at(3400), (s) => apply(s, { type: 'probed', id: 'p1', ok: false, output: '503' }), at(4200)], [{ type: 'wait', until: T0 + 4350 }], { watch: true, interval: 1000 }],
  ['the port opened while a probe ran: no second probe beside it', [...pgProbedOnce.slice(0, -2), (s) => apply(s, { type: 'probe', id: 'p1', argv: [], timeoutMs: 1000 }), ...portOpen('p1', 20)], [{ type: 'wait', until: T0 + 270 }], { watch: true, interval: 1000 }],
  ['a probe passed on a port still watched: the watch ends', [...pgProbedOnce, at(1000), (s) => apply(s, { type: 'probe', id: 'p1', argv: [], timeoutMs: 1000 }), (s) => apply(s, { type: 'probed', id: 'p1', ok: true, output: 'ok' })], [{ type: 'ready', service: 'postgres' }, { type: 'unwatch-port', id: 'p1' }], { watch: true }],
  ['a probe that passed: ready, no more probes, and what waited on it begins', [stage(0, 'tracking'), stage(1, 'prepared'), container('postgres', 'p1', 'running', { health: 'starting' }), tracked('postgres', 'p1'), phase('postgres', 'started'), ...up('redis', 'r1'), container('migrations', 'm1', 'created'), tracked('migrations', 'm1'), (s) => apply(s, { type: 'probe', id: 'p1', argv: [], timeoutMs: 1000 }), (s) => apply(s, { type: 'probed', id: 'p1', ok: true, output: 'ok' })], [{ type: 'ready', service: 'postgres' }, { type: 'check', service: 'migrations', baseId: 'm1', argv: ['migrate', 'pre', '--check'] }, { type: 'begin', service: 'migrations' }]],
  ['Docker says healthy before our probe ran: the probe ends', [stage(0, 'tracking'), stage(1, 'prepared'), container('postgres', 'p1', 'running', { health: 'healthy' }), tracked('postgres', 'p1'), phase('postgres', 'started'), readyAt('postgres'), container('redis', 'r1', 'running', { health: 'starting' }), tracked('redis', 'r1'), phase('redis', 'started'), container('migrations', 'm1', 'created'), tracked('migrations', 'm1')], [{ type: 'stop-probe', id: 'p1' }, { type: 'probe', id: 'r1', argv: ['probe', 'redis'], timeoutMs: 1000 }]],
  ['a database this run created: no check, everything pending', [...dataUp, freshDb], [{ type: 'checked', service: 'migrations', answer: { pending: true, fresh: true } }, { type: 'begin', service: 'migrations' }]],
  ['an existing database: the check runs in a copy of the migration container', dataUp, [{ type: 'check', service: 'migrations', baseId: 'm1', argv: ['migrate', 'pre', '--check'] }, { type: 'begin', service: 'migrations' }]],
  ['--force-migrations: pending without a check', dataUp, [{ type: 'checked', service: 'migrations', answer: { pending: true, fresh: false } }, { type: 'begin', service: 'migrations' }], { force: true }],
  ['the check under way: wait for it', [...dataUp, phase('migrations', 'checking'), (s) => apply(s, { type: 'check', service: 'migrations', baseId: 'm1', argv: [] })], [{ type: 'wait', until: T0 + 250 }]],
  ['migrations.run: always, nothing pending: run anyway, without a backup', [...dataUp, phase('migrations', 'checking'), checked('migrations', false), (s) => void (s.plan.steps.find((x) => x.service === 'migrations')!.migration!.run = 'always')], [{ type: 'start', service: 'migrations', notes: ['migrations: no pre-deploy migrations pending; running anyway (migrations.run: always)'] }]],
  ['nothing pending: skip, and say so', [...dataUp, phase('migrations', 'checking'), checked('migrations', false)], [{ type: 'skip', service: 'migrations', phase: 'pre', notes: ['migrations: no pre-deploy migrations pending; skipped (--force-migrations runs them anyway)'] }]],
  ['pending on an existing database: the first takes the backup', [...dataUp, phase('migrations', 'checking'), checked('migrations', true)], [{ type: 'backup', service: 'migrations', take: true }]],
  ['pending, no backup configured: start', [...dataUp, phase('migrations', 'checking'), checked('migrations', true)], [{ type: 'start', service: 'migrations', notes: [] }], { backup: false }],
  ['the backup under way: wait for it', [...dataUp, phase('migrations', 'backing up'), set((s) => void (s.backup = 'running'))], [{ type: 'wait', until: T0 + 250 }]],
  ['the backup taken: start', [...dataUp, phase('migrations', 'backing up'), (s) => apply(s, { type: 'backed-up', line: 'backup before migrations: x' })], [{ type: 'start', service: 'migrations', notes: [] }]],
  ['a later phase on an existing database after the backup: no second backup', [...dataUp, set((s) => void (s.backup = 'done')), phase('migrations', 'checking'), checked('migrations', true)], [{ type: 'backup', service: 'migrations', take: false }]],
  ['pending on a fresh database: start without a backup, and say why', [...dataUp, freshDb, phase('migrations', 'checking'), checked('migrations', true, true)], [{ type: 'start', service: 'migrations', notes: ['migrations: the database was created by this run; every pre-deploy migration is pending', NO_BACKUP_FRESH], skipBackup: true }]],
  ['a job that exited non-zero: finish, failed', [...dataUp, phase('migrations', 'started'), container('migrations', 'm1', 'exited', { exitCode: 3 })], [{ type: 'finish', status: 'failed', failures: [{ service: 'migrations', what: 'exited with code 3', id: 'm1', exitCode: 3 }] }]],
  ['a service that turned unhealthy: finish, failed', [...dataUp, container('postgres', 'p1', 'running', { health: 'unhealthy' })], [{ type: 'finish', status: 'failed', failures: [{ service: 'postgres', what: 'turned unhealthy', id: 'p1' }] }]],
  ['a job exited before this run started it: not a failure, and not done', [...dataUp, container('migrations', 'm1', 'exited', { exitCode: 3 })], [{ type: 'check', service: 'migrations', baseId: 'm1', argv: ['migrate', 'pre', '--check'] }, { type: 'begin', service: 'migrations' }]],
  ['the pre phase completed: the next batch is released', [stage(0, 'tracking'), stage(1, 'prepared'), ...up('postgres', 'p1'), ...up('redis', 'r1'), container('migrations', 'm1', 'exited', { exitCode: 0 }), tracked('migrations', 'm1'), phase('migrations', 'started')], [{ type: 'ready', service: 'migrations' }, { type: 'create', batch: 1 }]],
  ['skipped counts as completed', [stage(0, 'tracking'), stage(1, 'prepared'), ...up('postgres', 'p1'), ...up('redis', 'r1'), tracked('migrations', 'm1'), (s) => apply(s, { type: 'skip', service: 'migrations', phase: 'pre', notes: [] })], [{ type: 'create', batch: 1 }]],
  ['interrupted: finish, whatever else is going on', [...dataUp, phase('migrations', 'started'), container('migrations', 'm1', 'exited', { exitCode: 3 }), (s) => apply(s, { type: 'interrupted' })], [{ type: 'finish', status: 'interrupted', failures: [] }]],
  ['an edge failed: the run stops with its error', [...dataUp, (s) => apply(s, { type: 'errored', error: new Error('no') })], [{ type: 'throw' }]],
  ['the deadline: finish with each step that began and is not ready', [...dataUp, phase('migrations', 'started'), container('migrations', 'm1', 'running'), at(TIMEOUT)], [{ type: 'finish', status: 'timeout', failures: [{ service: 'migrations', what: 'not completed after 60s (last state: running); the migration is left running (never killed: a half-built index would wedge the next deploy), and the next run waits for it', id: 'm1' }] }]],
  ['the deadline is nearer than 250 ms: wake at the deadline', [...dataUp, phase('migrations', 'started'), container('migrations', 'm1', 'running'), at(TIMEOUT - 100)], [{ type: 'wait', until: T0 + TIMEOUT }]],
  ['every step ready: finish', [stage(0, 'tracking'), stage(1, 'tracking'), ...up('postgres', 'p1'), ...up('redis', 'r1'), ...done('migrations', 'm1'), ...up('backend', 'b1'), container('backend', 'b2', 'running', { health: 'healthy' }), tracked('backend', 'b1', 'b2'), probeOver('b2'), ...up('worker', 'w1'), ...done('migrations-post', 'q1'), ...up('nginx', 'n1')], [{ type: 'finish', status: 'ready', failures: [] }]],
];

describe('decide: health-port watches', () => {
  it(`watches at most ${MAX_PORT_WATCHES} ports at once; a slot that frees goes to the next container`, () => {
    const ids = Array.from({ length: 20 }, (_, i) => `b${i + 1}`);
    const s = state([...dataUp, ...done('migrations', 'm1'), ...ids.map((id) => container('backend', id, 'running', { health: 'starting' })), tracked('backend', ...ids), phase('backend', 'started')], { watch: true });
    const first = decide(s).filter((a) => a.type === 'watch-port');
    expect(first.map((a) => a.type === 'watch-port' && a.id)).toEqual(ids.slice(0, MAX_PORT_WATCHES));
    for (const a of decide(s)) apply(s, a);
    apply(s, { type: 'probed', id: 'b1', ok: true, output: 'ok' });
    const next = decide(s).filter((a) => a.type === 'watch-port' || a.type === 'unwatch-port');
    expect(next).toEqual([{ type: 'unwatch-port', id: 'b1' }, { type: 'watch-port', id: `b${MAX_PORT_WATCHES + 1}`, port: 8000 }]);
  });
});

describe('decide', () => {
  it.each(rows)('%s', (_name, facts, want, o) => {
    expect(decide(state(facts, o))).toEqual(want);
  });

  it.each(rows)('%s: once carried out, nothing is asked twice', (_name, facts, _want, o) => {
    const s = state(facts, o);
    const first = decide(s).filter((a) => a.type !== 'wait' && a.type !== 'finish' && a.type !== 'throw');
    for (const a of first) apply(s, a);
    const again = decide(s).map((a) => JSON.stringify(a));
    for (const a of first) expect(again).not.toContain(JSON.stringify(a));
  });
});
