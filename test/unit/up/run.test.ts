// The start-up runner against a fake engine, a fake Compose and a fake clock: order, batch gating,
// migration checks, backups, failures, timeouts and interruption, with no Docker and no real timers.
import { describe, expect, it } from 'vitest';
import type { Inspected, UpEngine } from '../../../src/up/engine.js';
import { FACTS_LOOK_MS, HELD_LOOK_MS, heldFailure } from '../../../src/up/failure-facts.js';
import { apply, runnerState } from '../../../src/up/runner-state.js';
import { buildPlan, migrationPlan, type Plan } from '../../../src/up/plan.js';
import type { ProgressRenderer } from '../../../src/up/progress.js';
import { runUp, type ComposeCreator, type UpOutcome } from '../../../src/up/run.js';
import { demoSpec } from './demo-spec.js';
import { FakeClock } from './fake-clock.js';

const spec = demoSpec;

type Behaviour = {
  /** Exit code of each job (default 0). */
  exit?: Record<string, number>;
  /** Probe runs before a service answers (default 1: the first run passes). */
  healthyAfter?: Record<string, number>;
  /** Exit code of each migration's pending check (0: nothing pending; default 1: pending). */
  check?: Record<string, number>;
  /** Containers that exist before the run (a second `up`): no create events, listed instead. */
  existing?: boolean;
  /** The database volume exists from before. */
  oldVolume?: boolean;
  /** A job never ends. */
  hang?: string[];
  /** The service listens (its port opens, its probe passes) this many ms after its start. */
  listensAfterMs?: Record<string, number>;
  /** The engine can watch health ports (a local Engine). */
  watch?: boolean;
  /** The Engine's event stream ends this many ms after the subscription (no event reaches the run after). */
  loseEventsAfterMs?: number;
  /** The migration checks never end on their own (their container is removed when the run's signal aborts). */
  checkHangs?: boolean;
  /** Each probe exec of the service takes this long (and then fails). */
  probeTakesMs?: Record<string, number>;
  /** The containers from before (`existing`) of the app's services run: healthy, but for `holds`'s. */
  running?: boolean;
  /** Compose's call for the batch holding this service never ends on its own (Compose v1 waiting on a health). */
  holds?: string;
  /** From this many ms on, listing the project's containers never answers (a hung Engine). */
  listHangsFrom?: number;
  /** Reading a container's output never answers (a hung Engine). */
  logsHang?: boolean;
};

/** Simulated Docker: containers, events, probes and checks, with a log of what was done, in order. */
class FakeDocker implements UpEngine {
  readonly log: string[] = [];
  private readonly containers = new Map<string, { id: string; service: string; status: 'created' | 'running' | 'exited'; exitCode?: number; probes: number; startedAt?: number }>();
  /** Port watches under way, by container. */
  readonly watching = new Set<string>();
  readonly watchPort?: UpEngine['watchPort'];
  private readonly listeners = new Set<(raw: unknown) => void>();
  private seq = 0;
  /** Probe runs per container. */
  readonly probes = new Map<string, number>();
  /** Probe execs running now, and the most that ever ran at once, by container. */
  private readonly execsNow = new Map<string, number>();
  readonly execsAtOnce = new Map<string, number>();
  private readonly t0: number;
  constructor(private readonly plan: Plan, private readonly clock: FakeClock, private readonly b: Behaviour = {}) {
    this.t0 = clock.now();
    if (b.existing) for (const s of plan.steps) for (let i = 0; i < s.replicas; i++) this.add(s.service);
    if (b.running) for (const c of this.containers.values()) if (this.step(c.service).role !== 'job') c.status = 'running';
    if (b.watch) this.watchPort = (id, _port, signal) => this.watchUntilListening(id, signal);
  }

  /** A running container's health as inspected: with `running`, the held service's is unhealthy, the rest healthy. */
  private healthFrom(service: string): 'starting' | 'healthy' | 'unhealthy' {
    if (!this.b.running) return 'starting';
    return service === this.b.holds ? 'unhealthy' : 'healthy';
  }
  holds(services: string[]): boolean {
    return this.b.holds !== undefined && services.includes(this.b.holds);
  }

  private listening(c: { service: string; startedAt?: number }): boolean {
    const after = this.b.listensAfterMs?.[c.service];
    return after === undefined || (c.startedAt !== undefined && this.clock.now() >= c.startedAt + after);
  }
  private async watchUntilListening(id: string, signal: AbortSignal): Promise<boolean> {
    const c = this.containers.get(id)!;
    this.watching.add(id);
    try {
      while (!signal.aborted && !this.listening(c)) await this.clock.sleep(10, signal).catch(() => {});
      return !signal.aborted;
    } finally {
      this.watching.delete(id);
    }
  }

  private add(service: string) {
    const id = `${service}-${++this.seq}`;
    this.containers.set(id, { id, service, status: 'created', probes: 0 });
    return id;
  }
  private emit(raw: unknown) {
    for (const l of this.listeners) l(raw);
  }
  private event(action: string, id: string, attrs: Record<string, string> = {}) {
    const c = this.containers.get(id)!;
    this.emit({ Type: 'container', Action: action, Actor: { ID: id, Attributes: { 'com.docker.compose.service': c.service, name: `demo_${id}`, ...attrs } }, timeNano: this.clock.now() * 1e6 });
  }
  private step(service: string) {
    return this.plan.steps.find((s) => s.service === service)!;
  }

  /** What Compose does for a batch: the volume (first time), then one container per replica, 1 ms apart. */
  async composeCreate(services: string[]) {
    if (services.includes('postgres') && !this.b.oldVolume && !this.b.existing) this.emit({ Type: 'volume', Action: 'create', Actor: { ID: 'demo_pgdata' } });
    for (const s of services) {
      if ([...this.containers.values()].some((c) => c.service === s)) continue;
      for (let i = 0; i < this.step(s).replicas; i++) {
        const id = this.add(s);
        this.log.push(`create ${s}`);
        this.event('create', id);
        await this.clock.sleep(1);
      }
    }
  }

  async subscribe(_project: string, onEvent: (raw: unknown) => void, onLost: (e: Error) => void) {
    this.listeners.add(onEvent);
    let closed = false;
    if (this.b.loseEventsAfterMs !== undefined) {
      void this.clock.sleep(this.b.loseEventsAfterMs).then(() => {
        this.listeners.delete(onEvent);
        if (!closed) onLost(new Error('the Engine ended its event stream'));
      });
    }
    return {
      close: () => {
        closed = true;
        this.listeners.delete(onEvent);
      },
    };
  }
  async containersByService() {
    if (this.b.listHangsFrom !== undefined && this.clock.now() - this.t0 >= this.b.listHangsFrom) await new Promise(() => {});
    const out = new Map<string, string[]>();
    for (const c of this.containers.values()) out.set(c.service, [...(out.get(c.service) ?? []), c.id]);
    return out;
  }
  async inspect(id: string, now: number): Promise<Inspected> {
    const c = this.containers.get(id)!;
    const healthy = this.step(c.service).readyWhen === 'healthy';
    return {
      obs: { type: 'inspect', id, name: `demo_${id}`, service: c.service, status: c.status, ...(c.status === 'exited' ? { exitCode: c.exitCode } : {}), ...(healthy && c.status === 'running' ? { health: this.healthFrom(c.service) } : {}), time: now },
      ...(healthy ? { healthTest: ['CMD', 'probe', c.service], healthTimeoutMs: 1000 } : {}),
      volumes: c.service === 'postgres' ? ['demo_pgdata'] : [],
    };
  }
  async start(id: string) {
    const c = this.containers.get(id)!;
    if (this.step(c.service).role === 'job' || !this.log.includes(`start ${c.service}`)) this.log.push(`start ${c.service}`);
    c.status = 'running';
    c.startedAt = this.clock.now();
    this.event('start', id);
    if (this.step(c.service).role !== 'job' || this.b.hang?.includes(c.service)) return;
    void this.clock.sleep(5).then(() => {
      c.status = 'exited';
      c.exitCode = this.b.exit?.[c.service] ?? 0;
      this.log.push(`exit ${c.service} ${c.exitCode}`);
      this.event('die', id, { exitCode: String(c.exitCode) });
    });
  }
  async logs(id: string) {
    if (this.b.logsHang) await new Promise(() => {});
    return `output of ${this.containers.get(id)!.service}\nError: it broke`;
  }
  async exec(id: string, argv: string[]) {
    const c = this.containers.get(id)!;
    const takes = this.b.probeTakesMs?.[c.service];
    if (takes !== undefined) {
      this.execsNow.set(id, (this.execsNow.get(id) ?? 0) + 1);
      this.execsAtOnce.set(id, Math.max(this.execsAtOnce.get(id) ?? 0, this.execsNow.get(id)!));
      await this.clock.sleep(takes);
      this.execsNow.set(id, this.execsNow.get(id)! - 1);
      c.probes++;
      this.probes.set(id, c.probes);
      return { exitCode: 1, output: 'too late' };
    }
    c.probes++;
    this.probes.set(id, c.probes);
    const ok = c.probes >= (this.b.healthyAfter?.[c.service] ?? 1) && this.listening(c);
    if (ok && !this.log.includes(`healthy ${c.service}`)) this.log.push(`healthy ${c.service}`);
    return { exitCode: ok ? 0 : 1, output: ok ? 'ok' : `${argv.join(' ')}: 503` };
  }
  async runLike(baseId: string, argv: string[], _labels: Record<string, string>, signal?: AbortSignal) {
    const service = this.containers.get(baseId)!.service;
    this.log.push(`check ${service}: ${argv.join(' ')}`);
    if (this.b.checkHangs) {
      await new Promise<void>((res) => signal?.addEventListener('abort', () => res(), { once: true }));
      await this.clock.sleep(3); // the removal's round trip
      this.log.push(`check container of ${service} removed`);
      throw new Error('interrupted');
    }
    return { exitCode: this.b.check?.[service] ?? 1, output: '' };
  }
}

/**
 * Compose: `prepare` is logged, creation happens on `release`. With `lingerMs`, each call stays on that
 * long after its last create (as Compose v1 does), or until the run stops it.
 */
function fakeCompose(docker: FakeDocker, clock: FakeClock, lingerMs?: number): ComposeCreator {
  return {
    prepare: (services) => ({
      release: async (stop) => {
        docker.log.push(`release ${services.join(',')}`);
        await clock.sleep(2);
        await docker.composeCreate(services);
        if (docker.holds(services)) await new Promise((res) => stop?.addEventListener('abort', res, { once: true }));
        if (lingerMs === undefined) return;
        const lingered = new AbortController();
        stop?.addEventListener('abort', () => lingered.abort(), { once: true });
        await clock.sleep(lingerMs, lingered.signal).catch(() => {});
        docker.log.push(stop?.aborted ? `compose stopped ${services.join(',')}` : `compose exited ${services.join(',')}`);
      },
      cancel: () => docker.log.push(`cancel ${services.join(',')}`),
    }),
  };
}

const silent: ProgressRenderer = { update() {}, tick() {}, note() {}, done() {} };

async function run(plan: Plan, b: Behaviour = {}, o: { timeoutMs?: number; force?: boolean; abortAfterMs?: number } = {}) {
  const clock = new FakeClock();
  const t0 = clock.now();
  const docker = new FakeDocker(plan, clock, b);
  const notes: string[] = [];
  const abort = new AbortController();
  if (o.abortAfterMs !== undefined) void clock.sleep(o.abortAfterMs).then(() => abort.abort());
  const outcome: UpOutcome = await clock.run(runUp(
    {
      engine: docker,
      compose: fakeCompose(docker, clock),
      clock,
      progress: { ...silent, note: (t) => notes.push(t) },
      signal: abort.signal,
      backup: async () => {
        docker.log.push('backup');
        return 'backup taken';
      },
    },
    { project: 'demo', plan, timeoutMs: o.timeoutMs ?? 300_000, forceMigrations: o.force },
  ));
  return { outcome, log: docker.log, notes, elapsed: clock.now() - t0, probes: docker.probes, watching: docker.watching, execsAtOnce: docker.execsAtOnce };
}

const before = (log: string[], a: string, b: string) => {
  expect(log, `${a} missing`).toContain(a);
  expect(log, `${b} missing`).toContain(b);
  expect(log.indexOf(a), `${a} before ${b}`).toBeLessThan(log.indexOf(b));
};

describe('runUp', () => {
  const plan = buildPlan(spec);

  it('a fresh stack: pre migrations, then the app, post after the app is healthy; no check and no backup', async () => {
    const { outcome, log, notes } = await run(plan);
    expect(outcome.status).toBe('ready');
    expect(outcome.migrations).toEqual({ pre: 'ran', post: 'ran' });
    before(log, 'healthy postgres', 'start migrations');
    before(log, 'healthy redis', 'start migrations');
    before(log, 'exit migrations 0', 'release backend,worker,migrations-post,nginx');
    before(log, 'release backend,worker,migrations-post,nginx', 'create backend');
    before(log, 'healthy backend', 'start nginx');
    before(log, 'exit migrations 0', 'start backend');
    before(log, 'exit migrations 0', 'start worker');
    before(log, 'healthy backend', 'start migrations-post');
    expect(log.filter((l) => l === 'create backend')).toHaveLength(2);
    expect(log.filter((l) => l.startsWith('check ') || l === 'backup')).toEqual([]);
    expect(notes).toContain('no backup before migrations: the database was created by this run and holds nothing yet');
  });

  it('nothing of a batch starts before Compose created all of it', async () => {
    const { log } = await run(plan);
    before(log, 'create migrations', 'start postgres');
    before(log, 'create migrations-post', 'start backend');
  });

  it('an existing database: checks each phase in its own container, backs up once before the first pending phase', async () => {
    const { outcome, log } = await run(plan, { oldVolume: true });
    expect(outcome.status).toBe('ready');
    expect(log.filter((l) => l.startsWith('check '))).toEqual(['check migrations: migrate pre --check', 'check migrations-post: migrate post --check']);
    expect(log.filter((l) => l === 'backup')).toHaveLength(1);
    before(log, 'check migrations: migrate pre --check', 'backup');
    before(log, 'backup', 'start migrations');
    // The post phase's check runs once the pre phase is done, without waiting for the app.
    before(log, 'exit migrations 0', 'check migrations-post: migrate post --check');
  });

  it('a second up with nothing pending: no migration container starts, no backup', async () => {
    const { outcome, log, notes } = await run(plan, { existing: true, check: { migrations: 0, 'migrations-post': 0 } });
    expect(outcome.status).toBe('ready');
    expect(outcome.migrations).toEqual({ pre: 'skipped', post: 'skipped' });
    expect(log.filter((l) => l.startsWith('create ') || l === 'backup' || /^start migrations/.test(l))).toEqual([]);
    expect(notes).toContain('migrations: no pre-deploy migrations pending; skipped (--force-migrations runs them anyway)');
  });

  it('--force-migrations runs them without asking', async () => {
    const { outcome, log } = await run(plan, { existing: true, check: { migrations: 0, 'migrations-post': 0 } }, { force: true });
    expect(outcome.migrations).toEqual({ pre: 'ran', post: 'ran' });
    expect(log.filter((l) => l.startsWith('check '))).toEqual([]);
    expect(log).toContain('backup');
  });

  it('a failing migration: what waits on it is never created, the report has its output', async () => {
    const { outcome, log } = await run(plan, { exit: { migrations: 3 } });
    expect(outcome.status).toBe('failed');
    expect(log.some((l) => /^(create|start) (backend|worker|migrations-post)/.test(l))).toBe(false);
    expect(log.filter((l) => l.startsWith('release '))).toEqual(['release postgres,redis,migrations']);
    expect(log).toContain('cancel backend,worker,migrations-post,nginx');
    expect(outcome.failures).toHaveLength(1);
    expect(outcome.failures[0]).toMatchObject({ service: 'migrations', what: 'exited with code 3', exitCode: 3, logs: 'output of migrations\nError: it broke', blocked: ['backend', 'worker', 'migrations-post', 'nginx'], kept: true });
  });

  it('a service that never answers: timeout at the deadline, with the last probe output; probes every second', async () => {
    const { outcome, elapsed, probes } = await run(plan, { healthyAfter: { backend: 1e9 } }, { timeoutMs: 20_000 });
    expect(outcome.status).toBe('timeout');
    expect(elapsed).toBe(20_000);
    const f = outcome.failures.find((x) => x.service === 'backend')!;
    expect(f.what).toBe('not healthy after 20s (last state: starting)');
    expect(f.probeOutput).toBe('probe backend: 503');
    expect(outcome.failures.map((x) => x.service)).toEqual(['backend']);
    expect(outcome.rows.find((r) => r.service === 'migrations-post')!.state).toBe('waiting');
    // Both replicas probed at the 1 s cadence from their start (a few ms in) to the deadline.
    const backend = [...probes].filter(([id]) => id.startsWith('backend-')).map(([, n]) => n);
    expect(backend).toEqual([20, 20]);
  });

  it('a watched health port: the probe runs when the port opens, not at the next second; no watch outlives the run', async () => {
    const slow = { listensAfterMs: { backend: 300 } };
    const plain = await run(plan, slow);
    const watched = await run(plan, { ...slow, watch: true });
    expect([plain.outcome.status, watched.outcome.status]).toEqual(['ready', 'ready']);
    const backendReady = (r: typeof plain) => r.outcome.rows.find((x) => x.service === 'backend')!.elapsedMs;
    // Without a watch the second probe, a second after the first, finds it; with one, the port opening does.
    expect(backendReady(plain) - backendReady(watched)).toBe(700);
    expect(plain.elapsed - watched.elapsed).toBe(700);
    expect([...watched.probes].filter(([id]) => id.startsWith('backend-')).map(([, n]) => n)).toEqual([2, 2]);
    expect(watched.watching.size).toBe(0);
    // A port that never opens is watched until the run ends, and not after.
    const never = await run(plan, { listensAfterMs: { backend: 1e9 }, watch: true }, { timeoutMs: 5000 });
    expect(never.outcome.status).toBe('timeout');
    expect(never.watching.size).toBe(0);
  });

  it('the default five minutes are waited on the clock it is given, not in real time', async () => {
    const { outcome, elapsed } = await run(plan, { hang: ['migrations'] });
    expect(outcome.status).toBe('timeout');
    expect(elapsed).toBe(300_000);
    expect(outcome.failures.map((x) => [x.service, x.what])).toEqual([['migrations', 'not completed after 300s (last state: running); the migration is left running (never killed: a half-built index would wedge the next deploy), and the next run waits for it']]);
  });

  it('a probe that overran its timeout fails at once, but the next one waits until its exec ended: one exec at a time', async () => {
    // Before (2026-11-29) a new exec started every second beside the hung ones (the API cannot stop an exec).
    const { outcome, execsAtOnce, probes } = await run(plan, { probeTakesMs: { backend: 2500 } }, { timeoutMs: 20_000 });
    expect(outcome.status).toBe('timeout');
    expect(outcome.failures.find((f) => f.service === 'backend')?.probeOutput).toBe('timed out after 1000ms');
    const backends = [...execsAtOnce].filter(([id]) => id.startsWith('backend'));
    expect(backends).toHaveLength(2); // two replicas
    for (const [id, most] of backends) {
      expect(most, id).toBe(1);
      // About 20 s of probing, 2.5 s per exec: never more execs than fit one after another.
      expect(probes.get(id), id).toBeGreaterThanOrEqual(5);
      expect(probes.get(id), id).toBeLessThanOrEqual(8);
    }
  });

  it('a running backend from before that Compose still waits on at the deadline: reported with its state and logs', async () => {
    // Compose v1 holds the app's batch while the post phase waits on the backend's health: the run never
    // tracks it. Until 2026-11-29 the timeout said only "backend waiting", with no health log or output.
    const { outcome, log } = await run(plan, { existing: true, running: true, holds: 'backend', check: { migrations: 0, 'migrations-post': 1 } }, { timeoutMs: 20_000 });
    expect(outcome.status).toBe('timeout');
    expect(log).toContain('release backend,worker,migrations-post,nginx');
    expect(outcome.failures.map((f) => f.service)).toEqual(['backend']);
    expect(outcome.failures[0]).toMatchObject({
      what: 'not healthy after 20s (last state: unhealthy): a container from before this run, which Compose was still waiting on',
      container: 'demo_backend-4',
      logs: 'output of backend\nError: it broke',
      kept: true,
    });
    // The worker and nginx from before are ready: not failures. The post phase's job is not this run's: not reported.
    expect(outcome.rows.find((r) => r.service === 'backend')?.state).toBe('waiting');
  });

  it('held, but not a running container from before (created, not started): not reported as one', async () => {
    const { outcome } = await run(plan, { existing: true, holds: 'backend', check: { migrations: 0, 'migrations-post': 1 } }, { timeoutMs: 20_000 });
    expect(outcome.status).toBe('timeout');
    expect(outcome.failures).toEqual([]);
  });

  it('a hung Engine when the held containers are listed: the run ends HELD_LOOK_MS after its deadline', async () => {
    const { outcome, elapsed } = await run(plan, { existing: true, running: true, holds: 'backend', check: { migrations: 0, 'migrations-post': 1 }, listHangsFrom: 19_000 }, { timeoutMs: 20_000 });
    expect(outcome.status).toBe('timeout');
    expect(outcome.failures).toEqual([]);
    expect(elapsed).toBe(20_000 + HELD_LOOK_MS);
  });

  it('a hung Engine when a failure\'s output is read: the report says so, FACTS_LOOK_MS later', async () => {
    const ok = await run(plan, { exit: { migrations: 1 } }, { timeoutMs: 60_000 });
    const hung = await run(plan, { exit: { migrations: 1 }, logsHang: true }, { timeoutMs: 60_000 });
    expect(ok.outcome.failures[0]?.logs).toBe('output of migrations\nError: it broke');
    expect(hung.outcome.status).toBe('failed');
    expect(hung.outcome.failures).toMatchObject([{ service: 'migrations', exitCode: 1, logs: '(the Engine did not answer within 5 s: no output read)' }]);
    // Until 2026-11-29 the run never returned.
    expect(hung.elapsed).toBe(ok.elapsed + FACTS_LOOK_MS);
  });

  it('a check still running when the run ends is removed before the run returns', async () => {
    // Before (2026-11-29) nothing told it: the throwaway container outlived the command.
    const { outcome, log } = await run(plan, { existing: true, checkHangs: true }, { timeoutMs: 5_000 });
    expect(outcome.status).toBe('timeout');
    expect(log).toContain('check container of migrations removed');
  });

  it('a Compose call still on when the run fails is stopped before the run returns; a ready run hands it over', async () => {
    // Before (2026-11-29) the run returned and the stack's lock was released while Compose went on.
    const clock = new FakeClock();
    const failing = new FakeDocker(plan, clock, { exit: { migrations: 1 } });
    const outcome = await clock.run(runUp(
      { engine: failing, compose: fakeCompose(failing, clock, 60_000), clock, progress: silent, signal: new AbortController().signal },
      { project: 'demo', plan, timeoutMs: 300_000 },
    ));
    expect(outcome.status).toBe('failed');
    expect(failing.log).toContain('compose stopped postgres,redis,migrations');
    expect(outcome.settled).toBeUndefined();

    const ok = new FakeDocker(plan, clock, {});
    const ready = await clock.run(runUp(
      { engine: ok, compose: fakeCompose(ok, clock, 60_000), clock, progress: silent, signal: new AbortController().signal },
      { project: 'demo', plan, timeoutMs: 300_000 },
    ));
    expect(ready.status).toBe('ready');
    expect(ok.log.filter((l) => l.startsWith('compose '))).toEqual([]); // ready long before Compose exits
    await clock.run(ready.settled!);
    expect(ok.log.filter((l) => l.startsWith('compose '))).toEqual(['compose exited postgres,redis,migrations', 'compose exited backend,worker,migrations-post,nginx']);
  });

  it('a lost event stream stops the run at once, a Docker error, instead of waiting blind for the deadline', async () => {
    // Before (2026-11-29), nothing listened for the stream's end: the run waited 300 s (exit 5), then
    // said the migration was left running although it may have ended long before.
    const clock = new FakeClock();
    const docker = new FakeDocker(plan, clock, { hang: ['migrations'], loseEventsAfterMs: 50 });
    const t0 = clock.now();
    const e = await clock.run(runUp(
      { engine: docker, compose: fakeCompose(docker, clock), clock, progress: silent, signal: new AbortController().signal },
      { project: 'demo', plan, timeoutMs: 300_000 },
    )).then(() => undefined, (x: unknown) => x);
    expect(e).toMatchObject({ kind: 'docker', message: expect.stringContaining("lost the Docker Engine's event stream midway (the Engine ended its event stream)") });
    expect(clock.now() - t0).toBe(50);
    expect(docker.log).toContain('cancel backend,worker,migrations-post,nginx');
  });

  it('interrupted: stops waiting and says where each service stood', async () => {
    const { outcome, log, elapsed } = await run(plan, { hang: ['migrations'] }, { abortAfterMs: 100 });
    expect(outcome.status).toBe('interrupted');
    expect(elapsed).toBe(100);
    expect(outcome.rows.map((r) => [r.service, r.state])).toEqual([
      ['postgres', 'healthy'], ['redis', 'healthy'], ['migrations', 'running'], ['backend', 'waiting'], ['worker', 'waiting'], ['migrations-post', 'waiting'], ['nginx', 'waiting'],
    ]);
    expect(log).toContain('cancel backend,worker,migrations-post,nginx');
  });

  it('migrate: one batch, the post phase right after the pre phase', async () => {
    const { outcome, log } = await run(migrationPlan(spec, ['pre', 'post']));
    expect(outcome.status).toBe('ready');
    expect(log.filter((l) => /^(release|start|exit)/.test(l))).toEqual([
      'release postgres,redis,migrations,migrations-post', 'start postgres', 'start redis', 'start migrations', 'exit migrations 0', 'start migrations-post', 'exit migrations-post 0',
    ]);
  });
});

describe('heldFailure', () => {
  const plan = buildPlan(spec);
  const backend = plan.steps.find((x) => x.service === 'backend')!;
  const state = () => runnerState(plan, { project: 'demo', timeoutMs: 12_000, forceMigrations: false, probeIntervalMs: 1000, backup: false }, 0);
  const seen = (s: ReturnType<typeof state>, id: string, status: 'running' | 'created', health?: 'unhealthy' | 'healthy') =>
    apply(s, { type: 'observed', obs: { type: 'inspect', id, name: `demo_${id}`, service: 'backend', status, ...(health ? { health } : {}), time: 1 } });

  it('a running container that is not ready: from before the run, or created by it, as the create events say', () => {
    const s = state();
    seen(s, 'old', 'running', 'unhealthy');
    seen(s, 'new', 'running', 'unhealthy');
    s.creations.push({ service: 'backend', id: 'new', time: 1 });
    expect(heldFailure(s, backend, 'old')?.what).toBe('not healthy after 12s (last state: unhealthy): a container from before this run, which Compose was still waiting on');
    expect(heldFailure(s, backend, 'new')?.what).toBe('not healthy after 12s (last state: unhealthy): a container created by this run, which Compose was still waiting on');
  });

  it('none for a ready one, a created one, or one never seen (gone)', () => {
    const s = state();
    seen(s, 'fine', 'running', 'healthy');
    seen(s, 'made', 'created');
    expect([heldFailure(s, backend, 'fine'), heldFailure(s, backend, 'made'), heldFailure(s, backend, 'gone')]).toEqual([undefined, undefined, undefined]);
  });
});
