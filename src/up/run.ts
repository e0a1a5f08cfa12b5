// The start-up runner: creates each batch with Compose, starts each container through the Engine API as
// soon as it exists and what it waits for is ready, and stops at the first failure. `decide` (pure) says
// what to do; this loop carries it out through the edges passed in (engine, Compose, clock, output) and
// feeds what they report back into the state. It waits only on the clock it is given.
import { carryOut, type Edges, type Handles } from './carry-out.js';
import { decide } from './decide.js';
import { failureFacts, heldFailures } from './failure-facts.js';
import type { Plan, MigrationPhase } from './plan.js';
import type { ProgressRow } from './progress.js';
import type { FailureFacts } from './report.js';
import { apply, progressRows, runnerState, type FailureSpec, type Result } from './runner-state.js';
import { PhaseComposeError } from '../util/errors.js';

export type { ComposeCreator } from './carry-out.js';

export type UpDeps = Edges & { signal: AbortSignal };

export type UpOptions = {
  project: string;
  plan: Plan;
  timeoutMs: number;
  forceMigrations?: boolean;
  /**
   * Cadence of our own healthcheck runs (default 1 s). Each run is an exec; on a 2-core host, runs every
   * 250 ms made start-up 5-9% slower than every 1 s, which was as fast as none (bench/up.mjs, stack v2).
   * Where the engine can watch a health port, the next run comes forward to when the port opens.
   */
  probeIntervalMs?: number;
};

export type UpOutcome = {
  status: 'ready' | 'failed' | 'timeout' | 'interrupted';
  rows: ProgressRow[];
  failures: FailureFacts[];
  /** Migration phases that ran, and those skipped because nothing was pending. */
  migrations: Partial<Record<MigrationPhase, 'ran' | 'skipped'>>;
  backup?: string;
  /**
   * A ready run's Compose calls that created everything but have not exited yet (Compose v1 lingers):
   * the caller holds the stack's lock until this settles. A run that did not end ready stopped them.
   */
  settled?: Promise<unknown>;
};

/** How often a live (TTY) display redraws its elapsed times. */
const REDRAW_MS = 1000;

/** Runs the plan to the end: every step ready, or the first failure, timeout or interruption. */
export async function runUp(deps: UpDeps, opts: UpOptions): Promise<UpOutcome> {
  const { engine, clock, progress, signal } = deps;
  const { plan } = opts;
  const s = runnerState(
    plan,
    { project: opts.project, timeoutMs: opts.timeoutMs, forceMigrations: !!opts.forceMigrations, probeIntervalMs: opts.probeIntervalMs ?? 1000, watchPorts: !!engine.watchPort, backup: !!deps.backup },
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
  const handles: Handles = { batches: new Map(), watches: new Map(), checks: new Set(), creating: new Set(), ended: new AbortController() };

  // Subscribe first, then look: nothing that happens in between is missed.
  const sub = await engine.subscribe(
    opts.project,
    (raw) => report({ type: 'engine-event', raw }),
    // Without events the run cannot see a container change: it stops here instead of waiting for its
    // deadline and then describing a stack it no longer watched (before: exit 5, "left running").
    (e) => report({ type: 'errored', error: eventsLost(e) }),
  );
  const onAbort = () => report({ type: 'interrupted' });
  signal.addEventListener('abort', onAbort);
  if (signal.aborted) onAbort();

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
    if (status === 'timeout') failed = [...failed, ...(await heldFailures(engine, s, clock))];
    // All at once: each waits FACTS_LOOK_MS at most, so a hung Engine adds that once, not once per failure.
    failures.push(...(await Promise.all(failed.map((f) => failureFacts(engine, s, f, clock)))));
    over = true;
    sub.close();
    signal.removeEventListener('abort', onAbort);
    for (const [b, h] of handles.batches) if (s.batches[b]!.stage === 'prepared') h.cancel();
    for (const w of handles.watches.values()) w.abort();
    // A run that did not end ready: a check still running in its throwaway container is removed, and a
    // Compose call still creating is stopped; the run waits for both. Before, the container outlived the
    // command, and Compose went on creating after the stack's lock was released. A ready run hands its
    // lingering Compose calls to the caller (`settled`), which holds the lock until they exit.
    const creating = Promise.allSettled([...handles.creating]);
    if (status !== 'ready') {
      handles.ended.abort('the run ended');
      await Promise.allSettled([...handles.checks, creating]);
    }
    s.now = clock.now();
    const rows = render();
    progress.done();
    return { status, rows, failures, migrations: s.migrations, ...(s.backupLine ? { backup: s.backupLine } : {}), ...(status === 'ready' ? { settled: creating } : {}) };
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
        carryOut(deps, s, a, report, handles);
      }
    }
  } catch (e) {
    if (!over) await finish('failed', []).catch(() => {});
    throw e;
  }
}

/** The run lost the Engine's event stream: a Docker error (exit 3) that says what is not known. */
function eventsLost(e: Error): PhaseComposeError {
  return new PhaseComposeError('docker', `lost the Docker Engine's event stream midway (${e.message}): the run stopped, no longer able to see its containers change`, {
    details: ['what it started keeps running, a migration included; see `phase-compose status`, then run it again (it waits for a migration still running)'],
  });
}
