// Carries out the runner's actions through its edges: Compose, the engine, the clock, the output and the
// backup. What the edges find comes back through `report`; nothing here decides anything.
import type { Clock } from './clock.js';
import type { UpEngine } from './engine.js';
import { checkPending } from './pending.js';
import type { ProgressRenderer } from './progress.js';
import { stepOf, type Action, type Result, type RunnerState } from './runner-state.js';

/**
 * Creates containers of some services with Compose. `prepare` may start work early; `release` finishes
 * it, and stops the Compose process when `stop` aborts first (the run ended: its lock is about to go).
 */
export type ComposeCreator = {
  prepare(services: string[]): { release(stop?: AbortSignal): Promise<void>; cancel(): void };
};

/**
 * What the run holds open for later: batches prepared ahead of their release, by index (cancelled when
 * the run ends without them), the health-port watches under way, by container (aborted at the end), and
 * the migration checks under way in throwaway containers and the released batches' Compose calls
 * (`ended` removes the one and stops the other; the run waits for both, so nothing of it goes on once
 * it returned and the stack's lock is released).
 */
export type Handles = {
  batches: Map<number, ReturnType<ComposeCreator['prepare']>>;
  watches: Map<string, AbortController>;
  checks: Set<Promise<unknown>>;
  /** Released batches whose Compose call has not ended. */
  creating: Set<Promise<unknown>>;
  ended: AbortController;
};

export type Edges = {
  engine: UpEngine;
  compose: ComposeCreator;
  clock: Clock;
  progress: ProgressRenderer;
  /** Takes the pre-migration database backup; returns a line to show. */
  backup?: () => Promise<string>;
};

/** Holds `p` in `set` until it settles (the run's end waits for what is left). */
function whileOn(set: Set<Promise<unknown>>, p: Promise<unknown>): void {
  set.add(p);
  void p.catch(() => {}).finally(() => set.delete(p));
}

/** Carries out one action. It returns at once: the edges' answers arrive later through `report`. */
export function carryOut(edges: Edges, s: RunnerState, a: Action, report: (r: Result) => void, handles: Handles): void {
  const { engine, compose, clock, progress } = edges;
  const attempt = (p: Promise<unknown>) => void p.catch((error: unknown) => report({ type: 'errored', error }));
  const servicesOf = (b: number) => s.plan.batches[b]!.services;
  switch (a.type) {
    case 'prepare':
      handles.batches.set(a.batch, compose.prepare(servicesOf(a.batch)));
      return;
    case 'create': {
      const done = (handles.batches.get(a.batch) ?? compose.prepare(servicesOf(a.batch))).release(handles.ended.signal);
      whileOn(handles.creating, done);
      attempt(done);
      const settle = () => report({ type: 'compose-done', batch: a.batch });
      void done.then(settle, settle);
      return;
    }
    case 'list':
      attempt(engine.containersByService(s.opts.project).then((byService) => report({ type: 'listed', batch: a.batch, byService })));
      return;
    case 'track':
      for (const [service, ids] of a.ids) {
        const inspected = ids.map((id) => engine.inspect(id, clock.now()).then((inspected) => report({ type: 'inspected', service, inspected })));
        attempt(Promise.all(inspected).then(() => report({ type: 'tracked', service, ids })));
      }
      return;
    case 'check': {
      const check = checkPending(engine, a.baseId, a.argv, s.opts.project, handles.ended.signal);
      whileOn(handles.checks, check);
      attempt(check.then((pending) => report({ type: 'checked', service: a.service, answer: { pending, fresh: false } })));
      return;
    }
    case 'skip':
      a.notes.forEach((n) => progress.note(n));
      return;
    case 'backup':
      if (a.take && edges.backup) {
        attempt(
          edges.backup().then((line) => {
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
    case 'watch-port': {
      if (!engine.watchPort) return;
      const stop = new AbortController();
      handles.watches.set(a.id, stop);
      // A watch that cannot connect is no failure: the probe still runs at its interval.
      void engine.watchPort(a.id, a.port, stop.signal).then(
        (open) => open && report({ type: 'port-open', id: a.id }),
        () => {},
      ).finally(() => handles.watches.delete(a.id));
      return;
    }
    case 'unwatch-port':
      handles.watches.get(a.id)?.abort();
      return;
    case 'probe':
      attempt(probe(engine, clock, a, () => report({ type: 'probe-ended', id: a.id })).then((r) => report({ type: 'probed', id: a.id, ...r })));
      return;
    default:
      return;
  }
}

/**
 * One run of a container's healthcheck command by exec, bounded by its timeout. An overrun is a failed
 * run at once (`overran`); its exec, which the API cannot stop, finishes in the background, and `ended`
 * is called then, so the next run does not start beside it.
 */
async function probe(engine: UpEngine, clock: Clock, a: Extract<Action, { type: 'probe' }>, ended: () => void): Promise<{ ok: boolean; output: string; overran?: boolean }> {
  const timer = new AbortController();
  const run = engine.exec(a.id, a.argv).then(
    (r) => ({ ok: r.exitCode === 0, output: r.output }),
    (e: Error) => ({ ok: false, output: `exec failed: ${e.message}` }),
  );
  const timeout = clock.sleep(a.timeoutMs, timer.signal).then(() => ({ ok: false, output: `timed out after ${a.timeoutMs}ms`, overran: true }));
  try {
    const r = await Promise.race([run, timeout]);
    if ('overran' in r) void run.then(ended);
    return r;
  } finally {
    timer.abort();
  }
}
