// Creation batches: release a batch once the jobs it waits on completed (preparing the others early), and
// track it once Compose created all of it. Pure.
import { stepStatus, type Action, type RunnerState } from './runner-state.js';
import { satisfies } from './state.js';

export function batchActions(s: RunnerState): Action[] {
  const out: Action[] = [];
  s.plan.batches.forEach((b, i) => {
    const stage = s.batches[i]!.stage;
    if (stage === 'tracking') return;
    if (stage === 'creating') {
      const a = trackAction(s, i);
      if (a) out.push(a);
      return;
    }
    // Let Compose do its slow part (config, lookups) as soon as the first batch's services exist.
    if (stage === 'pending' && s.tracked.size) out.push({ type: 'prepare', batch: i });
    if (b.after.every((j) => satisfies(stepStatus(s, j), 'completed'))) out.push({ type: 'create', batch: i });
  });
  return out;
}

/**
 * A released batch is tracked (and can start) once Compose created every container of it, seen by their
 * create events: Compose v1 lingers long after its last create. Containers that already existed raise no
 * event: those are listed once Compose is done. Nothing starts before the whole batch exists, because
 * Compose v1 holds the creation of a service behind a `service_healthy` dependency that is running.
 */
function trackAction(s: RunnerState, batch: number): Action | undefined {
  const b = s.batches[batch]!;
  const services = s.plan.batches[batch]!.services;
  const want = (svc: string) => s.plan.steps.find((x) => x.service === svc)?.replicas ?? 1;
  const seen = services.map((svc) => s.creations.filter((c) => c.service === svc && c.time >= (b.releasedAt ?? 0) - 1000).map((c) => c.id));
  const complete = services.map((svc, k) => seen[k]!.length >= want(svc));
  if (complete.every(Boolean)) return { type: 'track', batch, ids: services.map((svc, k) => [svc, seen[k]!]) };
  if (!b.composeDone) return undefined;
  if (!b.listed) return { type: 'list', batch };
  const listed = b.listed;
  if (listed === 'asked') return undefined;
  return { type: 'track', batch, ids: services.map((svc, k) => [svc, complete[k] ? seen[k]! : (listed.get(svc) ?? [])]) };
}
