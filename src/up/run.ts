// The start-up runner: creates each batch with Compose, starts containers through the Engine API as soon
// as what they wait for is ready, and stops at the first failure. Docker, Compose, the clock and the
// output are passed in.
import { LABEL_PROBE, POSTGRES_SERVICE } from '../model/compose.js';
import type { DockerClient } from '../docker/client.js';
import { subscribeProjectEvents } from '../docker/events.js';
import { healthcheckArgv, probeLoop } from '../docker/waiter.js';
import { containerLogs, containersByService, inspectContainer, runLike, startContainer, volumesCreatedSince } from './engine.js';
import type { Plan, Step, MigrationPhase } from './plan.js';
import type { ProgressRenderer, ProgressRow } from './progress.js';
import type { FailureFacts } from './report.js';
import { emptyState, fromEngineEvent, reduce, satisfies, serviceStatus, type Observation, type ServiceStatus, type State } from './state.js';

/** Creates containers of some services with Compose. `prepare` may start work early; `release` finishes it. */
export type ComposeCreator = {
  prepare(services: string[]): { release(): Promise<void>; cancel(): void };
};

export type UpDeps = {
  docker: DockerClient;
  compose: ComposeCreator;
  now: () => number;
  progress: ProgressRenderer;
  signal: AbortSignal;
  /** Takes the pre-migration database backup; returns a line to show. */
  backup?: () => Promise<string>;
};

export type UpOptions = {
  project: string;
  plan: Plan;
  timeoutMs: number;
  forceMigrations?: boolean;
  /** Cadence of our own healthcheck runs (default 250 ms). */
  probeIntervalMs?: number;
};

export type UpOutcome = {
  status: 'ready' | 'failed' | 'timeout' | 'interrupted';
  rows: ProgressRow[];
  failures: FailureFacts[];
  /** Migration phases that ran, and those skipped because nothing was pending. */
  migrations: Partial<Record<MigrationPhase, 'ran' | 'skipped'>>;
  backup?: string;
};

type StepPhase = 'waiting' | 'checking' | 'backing up' | 'starting' | 'started' | 'skipped';


/** Runs the plan to the end: every step ready, or the first failure, timeout or interruption. */
export async function runUp(deps: UpDeps, opts: UpOptions): Promise<UpOutcome> {
  const { docker, now, progress, signal } = deps;
  const { plan } = opts;
  const t0 = now();
  const deadline = t0 + opts.timeoutMs;
  let state: State = emptyState();
  const tracked = new Map<string, string[]>();
  const healthTests = new Map<string, { argv: string[]; timeoutMs: number }>();
  const probeOutput = new Map<string, string>();
  const phase = new Map<string, StepPhase>(plan.steps.map((s) => [s.service, 'waiting']));
  const readyAt = new Map<string, number>();
  const batchState = plan.batches.map(() => 'pending' as 'pending' | 'prepared' | 'creating' | 'created');
  const prepared = new Map<number, ReturnType<ComposeCreator['prepare']>>();
  const checks = new Map<MigrationPhase, Promise<{ pending: boolean; output: string }>>();
  const migrations: UpOutcome['migrations'] = {};
  let backupLine: string | undefined;
  let backupTaken: Promise<void> | undefined;
  let fresh: Promise<boolean> | undefined;
  const creations: Array<{ service: string; time: number }> = [];
  let actionError: unknown;
  const probes = new AbortController();

  let wake: () => void = () => {};
  let changed = new Promise<void>((r) => (wake = r));
  const notify = () => {
    const w = wake;
    changed = new Promise<void>((r) => (wake = r));
    w();
  };
  const dispatch = (o: Observation) => {
    state = reduce(state, o);
    notify();
  };
  const launch = (p: Promise<unknown>) => {
    p.catch((e) => {
      actionError ??= e;
      notify();
    });
  };

  const stepOf = (s: string) => plan.steps.find((x) => x.service === s);
  const statusOf = (s: string): ServiceStatus => {
    if (phase.get(s) === 'skipped') return { state: 'completed', since: readyAt.get(s) ?? t0 };
    const step = stepOf(s);
    if (!step) return { state: 'missing', since: 0 };
    // A job's earlier exit (a previous `up`) says nothing about this run: only a run we started counts.
    if (step.role === 'job' && phase.get(s) !== 'started') return { state: 'created', since: t0 };
    return serviceStatus(state, tracked.get(s) ?? [], step.role, step.readyWhen === 'healthy');
  };
  const isReady = (step: Step) => satisfies(statusOf(step.service), step.readyWhen);
  const depsReady = (step: Step) => step.deps.every((d) => !stepOf(d.on) || satisfies(statusOf(d.on), d.condition));

  // Subscribe first, then look: nothing that happens in between is missed.
  const sub = await subscribeProjectEvents(docker, opts.project, (raw) => {
    const o = fromEngineEvent(raw);
    if (o?.action === 'create') creations.push({ service: o.service, time: o.time });
    if (o) dispatch(o);
  });
  const onAbort = () => notify();
  signal.addEventListener('abort', onAbort);

  const track = async (services: string[]) => {
    const byService = await containersByService(docker, opts.project);
    for (const s of services) {
      const ids = byService.get(s) ?? [];
      for (const id of ids) {
        const i = await inspectContainer(docker, id, now());
        dispatch(i.obs);
        const argv = healthcheckArgv(i.healthTest);
        if (argv) healthTests.set(id, { argv, timeoutMs: i.healthTimeoutMs ?? 5000 });
      }
      tracked.set(s, ids);
    }
  };

  const createBatch = async (b: number) => {
    batchState[b] = 'creating';
    const services = plan.batches[b]!.services;
    const handle = prepared.get(b) ?? deps.compose.prepare(services);
    const released = now();
    const done = handle.release();
    launch(done);
    // Compose v1 lingers after its last create (attaching, exiting): go on as soon as every replica was created.
    const want = (svc: string) => stepOf(svc)?.replicas ?? 1;
    const allCreated = async () => {
      for (;;) {
        const fresh = creations.filter((c) => c.time >= released - 1000);
        if (services.every((svc) => fresh.filter((c) => c.service === svc).length >= want(svc))) return;
        await changed;
      }
    };
    await Promise.race([done, allCreated()]);
    await track(plan.batches[b]!.services);
    batchState[b] = 'created';
    notify();
  };

  const check = (step: Step, phaseName: MigrationPhase, baseService: string): Promise<{ pending: boolean; output: string }> => {
    let p = checks.get(phaseName);
    if (!p) {
      const argv = phaseName === step.migration?.phase ? step.migration.check : plan.steps.find((s) => s.migration?.phase === phaseName)?.migration?.check;
      const base = tracked.get(baseService)?.[0];
      if (!argv || !base) return Promise.resolve({ pending: true, output: '' });
      p = runLike(docker, base, argv, { [LABEL_PROBE]: opts.project }).then((r) => ({ pending: r.exitCode !== 0, output: r.output }));
      checks.set(phaseName, p);
    }
    return p;
  };

  const startStep = async (step: Step) => {
    const s = step.service;
    const m = step.migration;
    if (m) {
      if (m.check && !opts.forceMigrations) {
        phase.set(s, 'checking');
        notify();
        // A database created by this very run has every migration pending: no need to ask.
        const db = tracked.get(POSTGRES_SERVICE)?.[0];
        fresh ??= db ? volumesCreatedSince(docker, db, t0).catch(() => false) : Promise.resolve(false);
        if (await fresh) {
          progress.note(`${s}: the database was created by this run; every ${m.phase}-deploy migration is pending`);
          checks.set(m.phase, Promise.resolve({ pending: true, output: '' }));
          if (m.phase === 'pre') checks.set('post', Promise.resolve({ pending: true, output: '' }));
        }
        const mine = check(step, m.phase, s);
        // The post phase's check can run now, beside the pre phase's, from the same container.
        if (m.phase === 'pre') {
          const post = plan.steps.find((x) => x.migration?.phase === 'post');
          if (post?.migration?.check) launch(check(post, 'post', s));
        }
        const r = await mine;
        if (!r.pending) {
          phase.set(s, 'skipped');
          readyAt.set(s, now());
          migrations[m.phase] = 'skipped';
          progress.note(`${s}: no ${m.phase}-deploy migrations pending; skipped (--force-migrations runs them anyway)`);
          notify();
          return;
        }
      }
      if (deps.backup) {
        phase.set(s, 'backing up');
        notify();
        backupTaken ??= deps.backup().then((line) => {
          backupLine = line;
          progress.note(line);
        });
        await backupTaken;
      }
      migrations[m.phase] = 'ran';
    }
    phase.set(s, 'starting');
    notify();
    await Promise.all(
      (tracked.get(s) ?? []).map((id) => {
        if (step.role === 'job') dispatch({ type: 'reset', id, time: now() });
        return startContainer(docker, id);
      }),
    );
    phase.set(s, 'started');
    notify();
    if (step.readyWhen !== 'healthy') return;
    for (const id of tracked.get(s) ?? []) {
      const t = healthTests.get(id);
      if (!t) continue;
      launch(
        probeLoop(docker, id, t.argv, {
          intervalMs: opts.probeIntervalMs ?? 250,
          timeoutMs: t.timeoutMs,
          signal: probes.signal,
          stop: () => {
            const c = state.containers.get(id);
            return !c || c.status === 'exited' || c.status === 'removed' || c.health === 'healthy' || !!c.probeHealthy;
          },
          onResult: (r) => {
            probeOutput.set(id, r.output);
            dispatch({ type: 'probe', id, ok: r.ok, output: r.output, time: now() });
          },
        }),
      );
    }
  };

  const rows = (): ProgressRow[] =>
    plan.steps.map((step) => {
      const p = phase.get(step.service)!;
      const st = statusOf(step.service);
      const ready = isReady(step);
      if (ready && !readyAt.has(step.service)) readyAt.set(step.service, now());
      const state = p === 'skipped' ? 'skipped' : p === 'started' || ready ? st.state : p;
      return { service: step.service, state, elapsedMs: (readyAt.get(step.service) ?? now()) - t0 };
    });
  let shown = new Map<string, string>();
  const render = () => {
    const r = rows();
    for (const row of r) {
      if (shown.get(row.service) !== row.state) progress.update(r, row.service);
    }
    shown = new Map(r.map((x) => [x.service, x.state]));
    return r;
  };

  const facts = async (step: Step, what: string, id: string | undefined, exitCode?: number): Promise<FailureFacts> => {
    const c = id ? state.containers.get(id) : undefined;
    let healthLog = c?.healthLog;
    let logs = '';
    if (id) {
      const i = await inspectContainer(docker, id, now()).catch(() => undefined);
      healthLog = i?.obs.healthLog ?? healthLog;
      logs = await containerLogs(docker, id, 50).catch((e: Error) => `(could not read the logs: ${e.message})`);
    }
    return {
      service: step.service,
      container: c?.name ?? step.service,
      what,
      ...(exitCode !== undefined ? { exitCode } : {}),
      ...(healthLog ? { healthLog } : {}),
      ...(id && probeOutput.has(id) ? { probeOutput: probeOutput.get(id) } : {}),
      logs,
      blocked: dependents(plan, step.service).filter((d) => phase.get(d) === 'waiting'),
      kept: !!id,
    };
  };

  const finish = async (status: UpOutcome['status'], failures: FailureFacts[] = []): Promise<UpOutcome> => {
    probes.abort();
    sub.close();
    signal.removeEventListener('abort', onAbort);
    for (const [b, h] of prepared) if (batchState[b] === 'prepared') h.cancel();
    const r = render();
    progress.done();
    return { status, rows: r, failures, migrations, ...(backupLine ? { backup: backupLine } : {}) };
  };

  try {
    launch(createBatch(plan.batches.findIndex((b) => !b.after.length)));
    let tick = 0;
    for (;;) {
      if (signal.aborted) return await finish('interrupted');
      if (actionError) throw actionError;
      const r = render();
      if (++tick % 4 === 0) progress.tick(r);

      for (const step of plan.steps) {
        const p = phase.get(step.service);
        if (p !== 'started') continue;
        const st = statusOf(step.service);
        if (st.failed) {
          const c = st.failed.container;
          const what = st.failed.reason === 'unhealthy' ? 'turned unhealthy' : st.failed.reason === 'removed' ? 'was removed' : `exited with code ${c.exitCode}`;
          return await finish('failed', [await facts(step, what, c.id, c.exitCode)]);
        }
      }
      if (plan.steps.every(isReady)) return await finish('ready');

      plan.batches.forEach((b, i) => {
        if (batchState[i] === 'creating' || batchState[i] === 'created') return;
        // Let Compose do its slow part (config, lookups) as soon as the first batch exists.
        if (batchState[i] === 'pending' && batchState.some((x) => x === 'created')) {
          prepared.set(i, deps.compose.prepare(b.services));
          batchState[i] = 'prepared';
        }
        if (b.after.every((j) => satisfies(statusOf(j), 'completed'))) launch(createBatch(i));
      });
      for (const step of plan.steps) {
        if (phase.get(step.service) !== 'waiting' || batchState[step.batch] !== 'created') continue;
        if (!depsReady(step)) continue;
        phase.set(step.service, 'checking');
        launch(startStep(step));
      }

      const left = deadline - now();
      if (left <= 0) {
        const out: FailureFacts[] = [];
        for (const step of plan.steps) {
          if (isReady(step) || phase.get(step.service) === 'waiting') continue;
          const id = (tracked.get(step.service) ?? []).find((x) => !satisfies(serviceStatus(state, [x], step.role, step.readyWhen === 'healthy'), step.readyWhen));
          out.push(await facts(step, `not ${step.readyWhen} after ${Math.round(opts.timeoutMs / 1000)}s (last state: ${statusOf(step.service).state})`, id));
        }
        return await finish('timeout', out);
      }
      await Promise.race([changed, sleep(Math.min(left, 250))]);
    }
  } catch (e) {
    await finish('failed').catch(() => {});
    throw e;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Everything that (transitively) waits on `service`. */
export function dependents(plan: Plan, service: string): string[] {
  const out = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of plan.steps) {
      if (out.has(s.service)) continue;
      if (s.deps.some((d) => d.on === service || out.has(d.on))) {
        out.add(s.service);
        grew = true;
      }
    }
  }
  return [...out];
}
