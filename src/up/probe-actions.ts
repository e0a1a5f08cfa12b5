// Our own healthcheck runs: a started service that must be healthy has its containers' healthcheck
// command run by exec every `probeIntervalMs`, one run at a time, until one passes (or Docker's own
// healthcheck passed, or the container is gone), so readiness is seen as soon as the service answers. Pure.
import type { Action, RunnerState } from './runner-state.js';

export function probeActions(s: RunnerState): Action[] {
  const out: Action[] = [];
  for (const step of s.plan.steps) {
    if (s.phase.get(step.service) !== 'started' || step.readyWhen !== 'healthy') continue;
    for (const id of s.tracked.get(step.service) ?? []) {
      const t = s.healthTests.get(id);
      const p = s.probes.get(id);
      if (!t || p?.over || p?.inFlight || (p && p.nextAt > s.now)) continue;
      const c = s.containers.containers.get(id);
      const stop = !c || c.status === 'exited' || c.status === 'removed' || c.health === 'healthy' || !!c.probeHealthy;
      out.push(stop ? { type: 'stop-probe', id } : { type: 'probe', id, argv: t.argv, timeoutMs: t.timeoutMs });
    }
  }
  return out;
}

/** When the next probe is due; undefined when none is waiting for its time. */
export function nextProbeAt(s: RunnerState): number | undefined {
  const due = [...s.probes.values()].filter((p) => !p.over && !p.inFlight).map((p) => p.nextAt);
  return due.length ? Math.min(...due) : undefined;
}
