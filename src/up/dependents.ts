// Which steps wait on a service, directly or through others. Pure.
import type { Plan } from './plan.js';

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
