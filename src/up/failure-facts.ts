// Failures: a started step that failed, or every step not ready at the deadline (pure); then the facts
// of the report, gathered from the engine (inspect for the health log, the last lines of output).
import { dependents } from './dependents.js';
import type { UpEngine } from './engine.js';
import type { FailureFacts } from './report.js';
import { isReady, stepStatus, type FailureSpec, type RunnerState } from './runner-state.js';
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

/** At the deadline: every step that began and is not ready, with the container that is not. */
export function timedOut(s: RunnerState): FailureSpec[] {
  const out: FailureSpec[] = [];
  for (const step of s.plan.steps) {
    if (isReady(s, step) || s.phase.get(step.service) === 'waiting') continue;
    const id = (s.tracked.get(step.service) ?? []).find((x) => !satisfies(serviceStatus(s.containers, [x], step.role, step.readyWhen === 'healthy'), step.readyWhen));
    const state = stepStatus(s, step.service).state;
    const left = step.migration && state === 'running' ? '; the migration is left running (never killed: a half-built index would wedge the next deploy), and the next run waits for it' : '';
    const what = `not ${step.readyWhen} after ${Math.round(s.opts.timeoutMs / 1000)}s (last state: ${state})${left}`;
    out.push({ service: step.service, what, ...(id ? { id } : {}) });
  }
  return out;
}

/** The report's facts for one failure: the health log (fresh from inspect), the last 50 lines of output. */
export async function failureFacts(engine: UpEngine, s: RunnerState, f: FailureSpec, now: () => number): Promise<FailureFacts> {
  const c = f.id ? s.containers.containers.get(f.id) : undefined;
  let healthLog = c?.healthLog;
  let logs = '';
  if (f.id) {
    const i = await engine.inspect(f.id, now()).catch(() => undefined);
    healthLog = i?.obs.healthLog ?? healthLog;
    logs = await engine.logs(f.id, 50).catch((e: Error) => `(could not read the logs: ${e.message})`);
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
