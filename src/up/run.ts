// The start-up runner: creates each batch with Compose, starts each container through the Engine API as
// soon as it exists and what it waits for is ready, and stops at the first failure. `decide` (pure) says
// what to do; this loop carries it out through the edges passed in (engine, Compose, clock, output) and
// feeds what they report back into the state. It waits only on the clock it is given.
import type { Clock } from './clock.js';
import { decide } from './decide.js';
import type { UpEngine } from './engine.js';
import { failureFacts } from './failure-facts.js';
import { checkPending } from './pending.js';
import type { Plan, MigrationPhase } from './plan.js';
import type { ProgressRenderer, ProgressRow } from './progress.js';
import type { FailureFacts } from './report.js';
import { apply, progressRows, runnerState, stepOf, type Action, type FailureSpec, type Result } from './runner-state.js';

/** Creates containers of some services with Compose. `prepare` may start work early; `release` finishes it. */
export type ComposeCreator = {
  prepare(services: string[]): { release(): Promise<void>; cancel(): void };
};

export type UpDeps = {
  engine: UpEngine;
  compose: ComposeCreator;
  clock: Clock;
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

/** How often a live (TTY) display redraws its elapsed times. */
const REDRAW_MS = 1000;

/** Runs the plan to the end: every step ready, or the first failure, timeout or interruption. */
export async function runUp(deps: UpDeps, opts: UpOptions): Promise<UpOutcome> {
  const { engine, compose, clock, progress, signal } = deps;
  const { plan } = opts;
  const s = runnerState(
    plan,
    { project: opts.project, timeoutMs: opts.timeoutMs, forceMigrations: !!opts.forceMigrations, probeIntervalMs: opts.probeIntervalMs ?? 250, backup: !!deps.backup },
    clock.now(),
  );
  let over = false;
  let wake = () => {};
  /** An edge reports: record it, and wake the loop. Nothing is recorded once the run is over. */
  const report = (r: Result) => {
    if (over) return;
    s.now = clock.now();
    apply(s, r);
    wake();
  };
  const attempt = (p: Promise<unknown>) => void p.catch((error: unknown) => report({ type: 'errored', error }));
  const handles = new Map<number, ReturnType<ComposeCreator['prepare']>>();

  // Subscribe first, then look: nothing that happens in between is missed.
  const sub = await engine.subscribe(opts.project, (raw) => report({ type: 'engine-event', raw }));
  const onAbort = () => report({ type: 'interrupted' });
  signal.addEventListener('abort', onAbort);
  if (signal.aborted) onAbort();

  /** Carries out one action through the edges; what they find comes back through `report`. */
  const carryOut = (a: Action) => {
    const servicesOf = (b: number) => plan.batches[b]!.services;
    switch (a.type) {
      case 'prepare':
        handles.set(a.batch, compose.prepare(servicesOf(a.batch)));
        return;
      case 'create': {
        const done = (handles.get(a.batch) ?? compose.prepare(servicesOf(a.batch))).release();
        attempt(done);
        const settle = () => report({ type: 'compose-done', batch: a.batch });
        void done.then(settle, settle);
        return;
      }
      case 'list':
        attempt(engine.containersByService(opts.project).then((byService) => report({ type: 'listed', batch: a.batch, byService })));
        return;
      case 'track':
        for (const [service, ids] of a.ids) {
          const inspected = ids.map((id) => engine.inspect(id, clock.now()).then((inspected) => report({ type: 'inspected', service, inspected })));
          attempt(Promise.all(inspected).then(() => report({ type: 'tracked', service, ids })));
        }
        return;
      case 'check':
        attempt(checkPending(engine, a.baseId, a.argv, opts.project).then((pending) => report({ type: 'checked', service: a.service, answer: { pending, fresh: false } })));
        return;
      case 'skip':
        a.notes.forEach((n) => progress.note(n));
        return;
      case 'backup':
        if (a.take && deps.backup) {
          attempt(
            deps.backup().then((line) => {
              progress.note(line);
              report({ type: 'backed-up', line });
            }),
          );
        }
        return;
      case 'start': {
        a.notes.forEach((n) => progress.note(n));
        const job = stepOf(s, a.service)?.role === 'job';
        const starts = (s.tracked.get(a.service) ?? []).map((id) => {
          if (job) report({ type: 'observed', obs: { type: 'reset', id, time: clock.now() } });
          return engine.start(id);
        });
        attempt(Promise.all(starts).then(() => report({ type: 'started', service: a.service })));
        return;
      }
      case 'probe':
        attempt(probe(engine, clock, a).then((r) => report({ type: 'probed', id: a.id, ...r })));
        return;
      default:
        return;
    }
  };

  let shown = new Map<string, string>();
  let drawn = s.now;
  const render = () => {
    const rows = progressRows(s);
    for (const row of rows) if (shown.get(row.service) !== row.state) progress.update(rows, row.service);
    shown = new Map(rows.map((x) => [x.service, x.state]));
    if (s.now - drawn >= REDRAW_MS) {
      progress.tick(rows);
      drawn = s.now;
    }
    return rows;
  };

  const finish = async (status: UpOutcome['status'], failed: FailureSpec[]): Promise<UpOutcome> => {
    const failures: FailureFacts[] = [];
    for (const f of failed) failures.push(await failureFacts(engine, s, f, () => clock.now()));
    over = true;
    sub.close();
    signal.removeEventListener('abort', onAbort);
    for (const [b, h] of handles) if (s.batches[b]!.stage === 'prepared') h.cancel();
    s.now = clock.now();
    const rows = render();
    progress.done();
    return { status, rows, failures, migrations: s.migrations, ...(s.backupLine ? { backup: s.backupLine } : {}) };
  };

  try {
    for (;;) {
      s.now = clock.now();
      render();
      for (const a of decide(s)) {
        if (a.type === 'finish') return await finish(a.status, a.failures);
        if (a.type === 'throw') throw s.error!.error;
        if (a.type === 'wait') {
          const woken = new AbortController();
          wake = () => woken.abort();
          await clock.sleep(Math.max(0, a.until - s.now), woken.signal);
          wake = () => {};
          continue;
        }
        apply(s, a);
        carryOut(a);
      }
    }
  } catch (e) {
    if (!over) await finish('failed', []).catch(() => {});
    throw e;
  }
}

/** One run of a container's healthcheck command by exec, bounded by its timeout (an overrun finishes in the background). */
async function probe(engine: UpEngine, clock: Clock, a: Extract<Action, { type: 'probe' }>): Promise<{ ok: boolean; output: string }> {
  const timer = new AbortController();
  const run = engine.exec(a.id, a.argv).then(
    (r) => ({ ok: r.exitCode === 0, output: r.output }),
    (e: Error) => ({ ok: false, output: `exec failed: ${e.message}` }),
  );
  const timeout = clock.sleep(a.timeoutMs, timer.signal).then(() => ({ ok: false, output: `timed out after ${a.timeoutMs}ms` }));
  try {
    return await Promise.race([run, timeout]);
  } finally {
    timer.abort();
  }
}
