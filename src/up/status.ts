// `status` rows from docker inspect results, and the table. Pure.
import type { Plan } from './plan.js';

export type StatusRow = {
  service: string;
  role: string;
  container: string;
  /** The image the container was created from, as named (`-` without a container). */
  image: string;
  state: string;
  health: string;
  /** ISO time the container started (or finished, for an exited one). */
  since: string;
  /** For migration jobs: true/false from the check, undefined when unknown. */
  pending?: boolean;
};

export type ContainerFacts = {
  service: string;
  name: string;
  status: string;
  health?: string;
  exitCode?: number;
  startedAt?: string;
  finishedAt?: string;
  /** The image as named at creation (Config.Image), and its ID. */
  image?: string;
  imageId?: string;
};

/** One row per container (a row per service without one), in plan order. */
export function statusRows(plan: Plan, containers: ContainerFacts[], pending: Record<string, boolean | undefined>): StatusRow[] {
  const rows: StatusRow[] = [];
  for (const step of plan.steps) {
    const mine = containers.filter((c) => c.service === step.service);
    const role = step.migration ? `migrations (${step.migration.phase})` : step.kind;
    const base = { service: step.service, role, ...(step.service in pending ? { pending: pending[step.service] } : {}) };
    if (!mine.length) rows.push({ ...base, container: '-', image: '-', state: 'not created', health: '-', since: '-' });
    for (const c of mine) {
      const exited = c.status === 'exited';
      rows.push({
        ...base,
        container: c.name,
        image: c.image ?? '-',
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
  const head = ['SERVICE', 'ROLE', 'CONTAINER', 'IMAGE', 'STATE', 'HEALTH', 'SINCE', 'PENDING'];
  const cells = rows.map((r) => [r.service, r.role, r.container, r.image, r.state, r.health, r.since, r.pending === undefined ? '-' : r.pending ? 'yes' : 'no']);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [head, ...cells].map((c) => c.map((x, i) => x.padEnd(w[i]!)).join('  ').trimEnd()).join('\n');
}

/**
 * A line for each service whose running containers run more than one image: an upgrade's or rollback's
 * rolling step (`busy`: the phase-compose that runs it now), one left halfway (a second Ctrl-C, a kill),
 * or an old container it could not remove. Images told apart by ID: a tag built again names another
 * image. Services on different versions of one another are not seen here: each runs its own image.
 */
export function mixedImages(containers: ContainerFacts[], busy?: { command: string; pid: number }): string[] {
  const lines: string[] = [];
  for (const service of new Set(containers.map((c) => c.service))) {
    const running = containers.filter((c) => c.service === service && (c.status === 'running' || c.status === 'restarting'));
    const byImage = new Map<string, ContainerFacts[]>();
    for (const c of running) {
      const key = c.imageId ?? c.image ?? '?';
      byImage.set(key, [...(byImage.get(key) ?? []), c]);
    }
    if (byImage.size < 2) continue;
    const groups = [...byImage.values()];
    const label = (cs: ContainerFacts[]) => {
      const { image = '?', imageId } = cs[0]!;
      // The same name for two IDs (a tag built again): the name alone would not tell them apart.
      const twice = groups.filter((g) => (g[0]!.image ?? '?') === image).length > 1;
      return `${twice && imageId ? `${image} ${imageId.replace(/^sha256:/, '').slice(0, 12)}` : image}: ${cs.map((c) => c.name).join(' ')}`;
    };
    const what = `${service}: its ${running.length} running containers run ${groups.length} images (${groups.map(label).join('; ')})`;
    lines.push(busy
      ? `${what}: phase-compose ${busy.command} (pid ${busy.pid}) holds this project's lock now (an upgrade's or rollback's rolling step runs both)`
      : `${what}, and no phase-compose runs on this project: an upgrade or rollback was left halfway (run \`phase-compose upgrade\` again, or \`phase-compose rollback\`), or could not remove an old container (it named it; remove it with \`docker rm -f\`)`);
  }
  return lines;
}
