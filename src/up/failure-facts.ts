// Failures: a started step that failed, or every step not ready at the deadline (pure); then the facts
// of the report, gathered from the engine (inspect for the health log, the last lines of output).
import { dependents } from './dependents.js';
import { within, type Clock } from './clock.js';
import type { UpEngine } from './engine.js';
import type { Step } from './plan.js';
import type { FailureFacts } from './report.js';
import { apply, isReady, stepStatus, type FailureSpec, type RunnerState } from './runner-state.js';
import { satisfies, serviceStatus, type ServiceStatus } from './state.js';

/** The first started step that failed: exited, turned unhealthy or was removed. */
export function failedStep(s: RunnerState): FailureSpec | undefined {
  for (const step of s.plan.steps) {
    if (s.phase.get(step.service) !== 'started') continue;
    const f = stepStatus(s, step.service).failed;
    if (f) return { service: step.service, what: failureWhat(f), id: f.container.id, ...(f.container.exitCode !== undefined ? { exitCode: f.container.exitCode } : {}) };
  }
  return undefined;
}

const failureWhat = (f: NonNullable<ServiceStatus['failed']>) =>
  f.reason === 'unhealthy' ? 'turned unhealthy' : f.reason === 'removed' ? 'was removed' : `exited with code ${f.container.exitCode}`;

/** One container's status as `step` counts it. Pure. */
const containerStatus = (s: RunnerState, step: Step, id: string): ServiceStatus => serviceStatus(s.containers, [id], step.role, step.readyWhen === 'healthy');

/** A timeout's words for a step: "not healthy after 300s (last state: starting)". Pure. */
const notReadyAfter = (s: RunnerState, step: Step, state: string) => `not ${step.readyWhen} after ${Math.round(s.opts.timeoutMs / 1000)}s (last state: ${state})`;

/** At the deadline: every step that began and is not ready, with the container that is not. */
export function timedOut(s: RunnerState): FailureSpec[] {
  const out: FailureSpec[] = [];
  for (const step of s.plan.steps) {
    if (isReady(s, step) || s.phase.get(step.service) === 'waiting') continue;
    const id = (s.tracked.get(step.service) ?? []).find((x) => !satisfies(containerStatus(s, step, x), step.readyWhen));
    const state = stepStatus(s, step.service).state;
    const left = step.migration && state === 'running' ? '; the migration is left running (never killed: a half-built index would wedge the next deploy), and the next run waits for it' : '';
    out.push({ service: step.service, what: `${notReadyAfter(s, step, state)}${left}`, ...(id ? { id } : {}) });
  }
  return out;
}

/**
 * At the deadline, the app's steps Compose still held: its call for their batch had not ended, so their
 * containers were never tracked. Compose v1 holds a whole batch while one of its services waits on
 * another's health: the post phase on a running backend from before that never turns healthy. Until
 * 2026-11-29 such a run timed out with the backend "waiting" and no reason given (Compose v2 lets the
 * batch go, and its report had the health log). A job is left out: its container from before is not this run's. Pure.
 */
export function heldSteps(s: RunnerState): Step[] {
  return s.plan.steps.filter((step) => {
    const b = s.batches[step.batch];
    return step.role !== 'job' && s.phase.get(step.service) === 'waiting' && !s.tracked.has(step.service) && b?.stage === 'creating' && !b.composeDone;
  });
}

/**
 * A held step's failure, if `id` (observed into `s`) is one: a container that runs and is not ready. One
 * Compose is creating or stopped to recreate, one gone: none is what Compose waits on. Said to be from
 * before this run unless this run's Compose created it. Pure.
 */
export function heldFailure(s: RunnerState, step: Step, id: string): FailureSpec | undefined {
  if (s.containers.containers.get(id)?.status !== 'running') return undefined;
  const status = containerStatus(s, step, id);
  if (satisfies(status, step.readyWhen)) return undefined;
  const whose = s.creations.some((c) => c.id === id) ? 'created by this run' : 'from before this run';
  return { service: step.service, what: `${notReadyAfter(s, step, status.state)}: a container ${whose}, which Compose was still waiting on`, id };
}

/** How long a timed-out run looks at the held steps' containers: a hung Engine must not hang its end. */
export const HELD_LOOK_MS = 5000;

/**
 * The held steps' failures: their containers listed and inspected (into `s`), the first not ready one of
 * each step reported. Whatever is found within HELD_LOOK_MS; nothing is recorded after it.
 */
export async function heldFailures(engine: UpEngine, s: RunnerState, clock: Clock): Promise<FailureSpec[]> {
  const held = heldSteps(s);
  if (!held.length) return [];
  const out: FailureSpec[] = [];
  let over = false;
  const look = async () => {
    const byService = await engine.containersByService(s.opts.project);
    if (over) return;
    for (const step of held) {
      for (const id of byService.get(step.service) ?? []) {
        const i = await engine.inspect(id, clock.now()).catch(() => undefined);
        if (over) return;
        if (!i) continue; // gone meanwhile
        apply(s, { type: 'observed', obs: i.obs });
        const f = heldFailure(s, step, id);
        if (f) {
          out.push(f);
          break;
        }
      }
    }
  };
  await within(clock, HELD_LOOK_MS, look().catch(() => undefined));
  over = true;
  return out;
}

/** How long one failure's facts (inspect and output, asked at once) are waited for: a hung Engine must not hang the report. */
export const FACTS_LOOK_MS = 5000;
/** A failure's output when the Engine did not give it within FACTS_LOOK_MS. */
export const OUTPUT_UNANSWERED = `(the Engine did not answer within ${FACTS_LOOK_MS / 1000} s: no output read)`;

/**
 * The report's facts for one failure: the health log (fresh from inspect), the last 50 lines of output.
 * Both are asked at once and waited for FACTS_LOOK_MS at most (until 2026-11-29 a hung Engine hung the
 * end of the run here): a health log not read in time is the one last observed; output not read is
 * said so.
 */
export async function failureFacts(engine: UpEngine, s: RunnerState, f: FailureSpec, clock: Clock): Promise<FailureFacts> {
  const c = f.id ? s.containers.containers.get(f.id) : undefined;
  let healthLog = c?.healthLog;
  let logs = '';
  if (f.id) {
    const [i, read] = await Promise.all([
      within(clock, FACTS_LOOK_MS, engine.inspect(f.id, clock.now()).catch(() => undefined)),
      within(clock, FACTS_LOOK_MS, engine.logs(f.id, 50).catch((e: Error) => `(could not read the logs: ${e.message})`)),
    ]);
    healthLog = i?.obs.healthLog ?? healthLog;
    logs = read ?? OUTPUT_UNANSWERED;
  }
  return {
    service: f.service,
    container: c?.name ?? f.service,
    what: f.what,
    ...(f.exitCode !== undefined ? { exitCode: f.exitCode } : {}),
    ...(healthLog ? { healthLog } : {}),
    ...(f.id && s.probeOutput.has(f.id) ? { probeOutput: s.probeOutput.get(f.id) } : {}),
    logs,
    blocked: dependents(s.plan, f.service).filter((d) => s.phase.get(d) === 'waiting'),
    kept: !!f.id,
  };
}
