// `status` rows from docker inspect results, and the table. Pure.
import type { Plan } from './plan.js';

export type StatusRow = {
  service: string;
  role: string;
  container: string;
  state: string;
  health: string;
  /** ISO time the container started (or finished, for an exited one). */
  since: string;
  /** For migration jobs: true/false from the check, undefined when unknown. */
  pending?: boolean;
};

export type ContainerFacts = { service: string; name: string; status: string; health?: string; exitCode?: number; startedAt?: string; finishedAt?: string };

/** One row per container (a row per service without one), in plan order. */
export function statusRows(plan: Plan, containers: ContainerFacts[], pending: Record<string, boolean | undefined>): StatusRow[] {
  const rows: StatusRow[] = [];
  for (const step of plan.steps) {
    const mine = containers.filter((c) => c.service === step.service);
    const role = step.migration ? `migrations (${step.migration.phase})` : step.kind;
    const base = { service: step.service, role, ...(step.service in pending ? { pending: pending[step.service] } : {}) };
    if (!mine.length) rows.push({ ...base, container: '-', state: 'not created', health: '-', since: '-' });
    for (const c of mine) {
      const exited = c.status === 'exited';
      rows.push({
        ...base,
        container: c.name,
        state: exited ? `exited (${c.exitCode ?? '?'})` : c.status,
        health: c.health ?? '-',
        since: (exited ? c.finishedAt : c.startedAt)?.replace(/\.\d+Z$/, 'Z') ?? '-',
      });
    }
  }
  return rows;
}

/** Renders rows as an aligned text table. */
export function statusTable(rows: StatusRow[]): string {
  const head = ['SERVICE', 'ROLE', 'CONTAINER', 'STATE', 'HEALTH', 'SINCE', 'PENDING'];
  const cells = rows.map((r) => [r.service, r.role, r.container, r.state, r.health, r.since, r.pending === undefined ? '-' : r.pending ? 'yes' : 'no']);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [head, ...cells].map((c) => c.map((x, i) => x.padEnd(w[i]!)).join('  ').trimEnd()).join('\n');
}
