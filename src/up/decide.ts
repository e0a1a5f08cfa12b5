// The runner's decisions: from what it knows, what to do next. Pure; the loop in run.ts carries the
// actions out. In order: stop when interrupted or an edge failed, report the first failed step, finish
// when every step is ready, else create/track batches, start steps, probe, and time out at the deadline.
import { batchActions } from './batch-actions.js';
import { failedStep, timedOut } from './failure-facts.js';
import { nextProbeAt, probeActions } from './probe-actions.js';
import { isReady, type Action, type RunnerState } from './runner-state.js';
import { stepActions } from './step-actions.js';

/** How long the loop waits at most before it looks again (elapsed times, the deadline). */
export const LOOK_AGAIN_MS = 250;

export function decide(s: RunnerState): Action[] {
  if (s.interrupted) return [{ type: 'finish', status: 'interrupted', failures: [] }];
  if (s.error) return [{ type: 'throw' }];
  const failed = failedStep(s);
  if (failed) return [{ type: 'finish', status: 'failed', failures: [failed] }];
  const ready: Action[] = s.plan.steps.filter((step) => isReady(s, step) && !s.readyAt.has(step.service)).map((step) => ({ type: 'ready', service: step.service }));
  if (s.plan.steps.every((step) => isReady(s, step))) return [...ready, { type: 'finish', status: 'ready', failures: [] }];
  const deadline = s.t0 + s.opts.timeoutMs;
  if (s.now >= deadline) return [{ type: 'finish', status: 'timeout', failures: timedOut(s) }];
  const out = [...ready, ...batchActions(s), ...stepActions(s), ...probeActions(s)];
  if (out.length) return out;
  return [{ type: 'wait', until: Math.min(deadline, s.now + LOOK_AGAIN_MS, nextProbeAt(s) ?? Infinity) }];
}
