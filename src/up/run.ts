// The start-up runner: creates each batch with Compose, starts each container through the Engine API as
// soon as it exists and what it waits for is ready, and stops at the first failure. The engine, Compose,
// the clock and the output are passed in.
import { POSTGRES_SERVICE } from '../model/compose.js';
import { healthcheckArgv, probeLoop } from '../docker/waiter.js';
import type { UpEngine } from './engine.js';
import { checkPending, knownPending, NO_BACKUP_FRESH, type PendingAnswer } from './pending.js';
import type { Plan, Step, MigrationPhase } from './plan.js';
import type { ProgressRenderer, ProgressRow } from './progress.js';
import type { FailureFacts } from './report.js';
import { emptyState, fromEngineEvent, reduce, volumeCreated, satisfies, serviceStatus, type Observation, type ServiceStatus, type State } from './state.js';

/** Creates containers of some services with Compose. `prepare` may start work early; `release` finishes it. */
export type ComposeCreator = {
  prepare(services: string[]): { release(): Promise<void>; cancel(): void };
};

export type UpDeps = {
  engine: UpEngine;
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
  const { engine, now, progress, signal } = deps;
  const { plan } = opts;
  const t0 = now();
  const deadline = t0 + opts.timeoutMs;
  let state: State = emptyState();
  /** Containers of each service, once all of them exist (Compose created them, or they were there). */
  const tracked = new Map<string, string[]>();
  const healthTests = new Map<string, { argv: string[]; timeoutMs: number }>();
  const probeOutput = new Map<string, string>();
  const phase = new Map<string, StepPhase>(plan.steps.map((s) => [s.service, 'waiting']));
  const readyAt = new Map<string, number>();
  const batchState = plan.batches.map(() => 'pending' as 'pending' | 'prepared' | 'creating');
  const prepared = new Map<number, ReturnType<ComposeCreator['prepare']>>();
  const checks = new Map<string, Promise<PendingAnswer>>();
  const migrations: UpOutcome['migrations'] = {};
  let backupLine: string | undefined;
  let backupTaken: Promise<void> | undefined;
  /** Volumes the Engine created during this run, and the postgres container's named volumes. */
  const createdVolumes = new Set<string>();
  let dbVolumes: string[] = [];
  /** The database's volumes were all created by this run: it holds nothing yet. */
  const fresh = () => dbVolumes.length > 0 && dbVolumes.every((v) => createdVolumes.has(v));
  const creations: Array<{ service: string; id: string; time: number }> = [];
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
  const depSatisfied = (d: Step['deps'][number]) => !stepOf(d.on) || satisfies(statusOf(d.on), d.condition);
  const depsReady = (step: Step) => step.deps.every(depSatisfied);
  /** A migration's pending check needs the data services and the jobs before it, not the app. */
  const checkable = (step: Step) => step.deps.every((d) => depSatisfied(d) || !['data', 'job', 'migrations', 'migrations-post'].includes(stepOf(d.on)?.kind ?? ''));

  // Subscribe first, then look: nothing that happens in between is missed.
  const sub = await engine.subscribe(opts.project, (raw) => {
    const v = volumeCreated(raw);
    if (v) createdVolumes.add(v);
    const o = fromEngineEvent(raw);
    if (o?.action === 'create') creations.push({ service: o.service, id: o.id, time: o.time });
    if (o) dispatch(o);
  });
  const onAbort = () => notify();
  signal.addEventListener('abort', onAbort);

  const track = async (service: string, ids: string[]) => {
    await Promise.all(
      ids.map(async (id) => {
        const i = await engine.inspect(id, now());
        if (service === POSTGRES_SERVICE) dbVolumes = i.volumes;
        dispatch(i.obs);
        const argv = healthcheckArgv(i.healthTest);
        if (argv) healthTests.set(id, { argv, timeoutMs: i.healthTimeoutMs ?? 5000 });
      }),
    );
    tracked.set(service, ids);
    notify();
  };

  const createBatch = async (b: number) => {
    batchState[b] = 'creating';
    const services = plan.batches[b]!.services;
    const handle = prepared.get(b) ?? deps.compose.prepare(services);
    const released = now();
    const done = handle.release();
    launch(done);
    let over = false;
    void done.then(settle, settle);
    function settle() {
      over = true;
      notify();
    }
    // The batch is tracked (and can start) once Compose created every container of it, seen by their create
    // events: Compose v1 lingers long after its last create. Containers that already existed raise no
    // event: those are listed once Compose is done. Nothing starts before the whole batch exists, because
    // Compose v1 holds the creation of a service behind a `service_healthy` dependency that is running.
    const want = (svc: string) => stepOf(svc)?.replicas ?? 1;
    const created = async (svc: string): Promise<string[] | undefined> => {
      for (;;) {
        const ids = creations.filter((c) => c.service === svc && c.time >= released - 1000).map((c) => c.id);
        if (ids.length >= want(svc)) return ids;
        if (over) return undefined;
        await changed;
      }
    };
    let listed: Promise<Map<string, string[]>> | undefined;
    const ids = await Promise.all(
      services.map(async (svc) => {
        const seen = await created(svc);
        if (seen) return seen;
        listed ??= engine.containersByService(opts.project);
        return (await listed).get(svc) ?? [];
      }),
    );
    await Promise.all(services.map((svc, i) => track(svc, ids[i]!)));
  };

  /** Whether a migration step has anything to do; asked once per step, by the check in a throwaway container. */
  const pendingCheck = (step: Step): Promise<PendingAnswer> => {
    let p = checks.get(step.service);
    if (!p) {
      p = (async () => {
        const argv = step.migration?.check;
        const baseId = tracked.get(step.service)?.[0];
        const known = knownPending({ fresh: fresh(), check: argv, baseId, force: opts.forceMigrations });
        if (known) return known;
        return { pending: await checkPending(engine, baseId!, argv!, opts.project), fresh: false };
      })();
      checks.set(step.service, p);
    }
    return p;
  };

  const startStep = async (step: Step) => {
    const s = step.service;
    const m = step.migration;
    if (m) {
      phase.set(s, 'checking');
      notify();
      const r = await pendingCheck(step);
      if (r.fresh) progress.note(`${s}: the database was created by this run; every ${m.phase}-deploy migration is pending`);
      if (!r.pending) {
        phase.set(s, 'skipped');
        readyAt.set(s, now());
        migrations[m.phase] = 'skipped';
        progress.note(`${s}: no ${m.phase}-deploy migrations pending; skipped (--force-migrations runs them anyway)`);
        notify();
        return;
      }
      if (deps.backup && !r.fresh) {
        phase.set(s, 'backing up');
        notify();
        backupTaken ??= deps.backup().then((line) => {
          backupLine = line;
          progress.note(line);
        });
        await backupTaken;
      } else if (deps.backup && !backupTaken) {
        backupTaken = Promise.resolve();
        progress.note(NO_BACKUP_FRESH);
      }
      migrations[m.phase] = 'ran';
    }
    phase.set(s, 'starting');
    notify();
    await Promise.all(
      (tracked.get(s) ?? []).map((id) => {
        if (step.role === 'job') dispatch({ type: 'reset', id, time: now() });
        return engine.start(id);
      }),
    );
    phase.set(s, 'started');
    notify();
    if (step.readyWhen !== 'healthy') return;
    for (const id of tracked.get(s) ?? []) {
      const t = healthTests.get(id);
      if (!t) continue;
      launch(
        probeLoop((cid, argv) => engine.exec(cid, argv), id, t.argv, {
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
      const i = await engine.inspect(id, now()).catch(() => undefined);
      healthLog = i?.obs.healthLog ?? healthLog;
      logs = await engine.logs(id, 50).catch((e: Error) => `(could not read the logs: ${e.message})`);
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
        if (batchState[i] === 'creating') return;
        // Let Compose do its slow part (config, lookups) as soon as the first batch's services exist.
        if (batchState[i] === 'pending' && tracked.size) {
          prepared.set(i, deps.compose.prepare(b.services));
          batchState[i] = 'prepared';
        }
        if (b.after.every((j) => satisfies(statusOf(j), 'completed'))) launch(createBatch(i));
      });
      for (const step of plan.steps) {
        if (phase.get(step.service) !== 'waiting' || !tracked.has(step.service)) continue;
        // A migration's check runs as soon as it can, so a post phase knows before the app is healthy.
        if (step.migration && !checks.has(step.service) && checkable(step)) launch(pendingCheck(step));
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
