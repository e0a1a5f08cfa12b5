// Our own healthcheck runs: a started service that must be healthy has its containers' healthcheck
// command run by exec every `probeIntervalMs`, one run at a time, until one passes (or Docker's own
// healthcheck passed, or the container is gone), so readiness is seen as soon as the service answers.
// Where the step names its health port and the Engine is local, the port is watched too (PortWatch): the
// probe runs as soon as it opens, instead of up to an interval later. Pure.
import { MAX_PORT_WATCHES, type Action, type RunnerState } from './runner-state.js';

export function probeActions(s: RunnerState): Action[] {
  const out: Action[] = [];
  let watching = [...s.ports.values()].filter((w) => w.state === 'watching').length;
  for (const step of s.plan.steps) {
    if (s.phase.get(step.service) !== 'started' || step.readyWhen !== 'healthy') continue;
    for (const id of s.tracked.get(step.service) ?? []) {
      const t = s.healthTests.get(id);
      const p = s.probes.get(id);
      const watch = s.ports.get(id)?.state;
      if (!t) continue;
      if (p?.over) {
        if (watch === 'watching') {
          out.push({ type: 'unwatch-port', id });
          watching--;
        }
        continue;
      }
      const c = s.containers.containers.get(id);
      const stop = !c || c.status === 'exited' || c.status === 'removed' || c.health === 'healthy' || !!c.probeHealthy;
      if (!stop && !watch && step.port !== undefined && s.opts.watchPorts && watching < MAX_PORT_WATCHES) {
        out.push({ type: 'watch-port', id, port: step.port });
        watching++;
      }
      if (p?.inFlight || (p && p.nextAt > s.now)) continue;
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
