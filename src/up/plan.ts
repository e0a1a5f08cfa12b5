// Spec → start-up plan: every service with what it waits for, what "ready" means for it, and the
// creation batch it belongs to. Pure.
import { buildGraph, migrationsName, postMigrationsName, waves, type NodeKind } from '../spec/graph.js';
import type { Argv, DependsCondition } from '../spec/types.js';
import { DATA_PORTS, type NormalisedSpec } from '../spec/normalise.js';
import { LOOPBACK_HOSTS } from '../spec/values.js';
import { closest, listSome } from '../spec/schema-errors.js';
import { byCodePoint } from '../util/compare.js';
import { PhaseComposeError } from '../util/errors.js';

export type MigrationPhase = 'pre' | 'post';

export type Step = {
  service: string;
  kind: NodeKind;
  role: 'service' | 'job';
  deps: Array<{ on: string; condition: DependsCondition }>;
  /** What this step must reach for `up` to succeed. */
  readyWhen: DependsCondition;
  replicas: number;
  /** Index into `Plan.batches`: the Compose call that creates this service's containers. */
  batch: number;
  /** Set on migration jobs. */
  migration?: { phase: MigrationPhase; check?: Argv; run: 'always' | 'when-pending' };
  /**
   * The TCP port its healthcheck reaches in its own container, where the spec says so (postgres 5432,
   * redis 6379, an `http` or `tcp` check on loopback). `up` watches it open to run the check at once.
   */
  port?: number;
};

/**
 * A creation batch: services Compose creates together, once every job in `after` completed. Nothing
 * that waits on a job's success is created before the job succeeded.
 */
export type Batch = { services: string[]; after: string[] };

export type Plan = { steps: Step[]; waves: string[][]; batches: Batch[] };

/** Pending-migration probe per phase; undefined when the spec has no check (always run). */
export function migrationChecks(spec: NormalisedSpec): Record<MigrationPhase, Argv | undefined> {
  const m = spec.migrations;
  return { pre: m?.pre?.check ?? m?.check, post: m?.post?.check }; // without a pre phase, migrations.check is its check
}

/**
 * Builds the plan. `only` limits it to those services plus everything they depend on; a name the stack
 * does not have is a usage error (before: dropped, and `up bakend` started nothing and said "ready").
 */
export function buildPlan(spec: NormalisedSpec, only?: string[]): Plan {
  const graph = buildGraph(spec);
  const checks = migrationChecks(spec);
  const unknown = [...new Set((only ?? []).filter((n) => !graph.nodes.has(n)))];
  if (unknown.length) {
    const names = [...graph.nodes.keys()].sort(byCodePoint);
    const guesses = unknown.map((n) => [n, closest(n, names)] as const).filter(([, g]) => g !== undefined);
    throw new PhaseComposeError('usage', `no service ${unknown.map((n) => JSON.stringify(n)).join(', ')} in this stack`, {
      details: [...guesses.map(([n, g]) => `${JSON.stringify(n)}: did you mean "${g}"?`), `its services: ${listSome(names, 30)}`],
    });
  }
  const keep = only ? closure(graph.nodes, only) : undefined;
  const order = waves(graph).flat().filter((n) => !keep || keep.has(n));
  const gates = new Map<string, Set<string>>();
  const gateOf = (name: string): Set<string> => {
    const known = gates.get(name);
    if (known) return known;
    const out = new Set<string>();
    gates.set(name, out);
    for (const d of graph.nodes.get(name)?.deps ?? []) {
      if (!graph.nodes.has(d.on)) continue;
      if (d.condition === 'completed') out.add(d.on);
      for (const g of gateOf(d.on)) out.add(g);
    }
    return out;
  };
  const batches: Batch[] = [];
  const steps: Step[] = order.map((name) => {
    const node = graph.nodes.get(name)!;
    const after = [...gateOf(name)].filter((g) => !keep || keep.has(g)).sort();
    const key = after.join(',');
    let batch = batches.findIndex((b) => b.after.join(',') === key);
    if (batch < 0) batch = batches.push({ services: [], after }) - 1;
    batches[batch]!.services.push(name);
    const step: Step = {
      service: name,
      kind: node.kind,
      role: node.role,
      deps: node.deps.filter((d) => graph.nodes.has(d.on)).map((d) => ({ on: d.on, condition: d.condition })),
      readyWhen: node.role === 'job' ? 'completed' : node.hasHealthcheck ? 'healthy' : 'started',
      replicas: spec.services[name]?.scale ?? 1, // a generated service (data, migrations, proxy) is not in spec.services: it runs one
      batch,
    };
    const port = step.readyWhen === 'healthy' ? healthPort(spec, name, node.kind) : undefined;
    if (port !== undefined) step.port = port;
    if (name === migrationsName(spec) && spec.migrations) step.migration = { phase: 'pre', check: checks.pre, run: spec.migrations.run };
    if (name === postMigrationsName(spec) && spec.migrations?.post) step.migration = { phase: 'post', check: checks.post, run: spec.migrations.run };
    return step;
  });
  const w = waves(graph).map((wave) => wave.filter((n) => !keep || keep.has(n))).filter((wave) => wave.length);
  return { steps, waves: w, batches };
}

/** The port a healthy-when step's generated healthcheck connects to inside its container, if the spec says. */
function healthPort(spec: NormalisedSpec, name: string, kind: NodeKind): number | undefined {
  if (kind === 'data') return Object.hasOwn(DATA_PORTS, name) ? DATA_PORTS[name as keyof typeof DATA_PORTS] : undefined;
  const hc = kind === 'proxy' ? spec.proxy?.healthcheck : kind === 'service' ? spec.services[name]?.healthcheck : undefined;
  const probe = hc?.http ?? hc?.tcp;
  return probe && (!probe.host || LOOPBACK_HOSTS.has(probe.host)) ? probe.port : undefined;
}

function closure(nodes: Map<string, { deps: Array<{ on: string }> }>, roots: string[]): Set<string> {
  const out = new Set<string>();
  const visit = (n: string) => {
    if (out.has(n) || !nodes.has(n)) return;
    out.add(n);
    for (const d of nodes.get(n)!.deps) visit(d.on);
  };
  roots.forEach(visit);
  return out;
}

/** `--scale` arguments for services with more than one replica. */
export function scaleArgs(steps: Step[], services: string[]): string[] {
  return steps.filter((s) => services.includes(s.service) && s.replicas !== 1).flatMap((s) => ['--scale', `${s.service}=${s.replicas}`]);
}

/**
 * The plan for `phase-compose migrate`: the data services and the chosen migration phases only; the
 * post phase then runs right after the pre phase instead of waiting for the app.
 */
export function migrationPlan(spec: NormalisedSpec, phases: MigrationPhase[]): Plan {
  const full = buildPlan(spec);
  const keep = new Set(full.steps.filter((s) => s.kind === 'data' || (s.migration && phases.includes(s.migration.phase))).map((s) => s.service));
  const steps = full.steps
    .filter((s) => keep.has(s.service))
    .map((s) => ({ ...s, deps: s.deps.filter((d) => keep.has(d.on)), batch: 0 }));
  // Migration jobs of one phase never gate another's creation here: one Compose call creates all.
  return { steps, waves: full.waves.map((w) => w.filter((n) => keep.has(n))).filter((w) => w.length), batches: [{ services: steps.map((s) => s.service), after: [] }] };
}

/**
 * The plan when no app container runs (a first start, or after `down`): nothing serves the old code, so
 * the post phase has no replica to wait for. It then waits only for the jobs and data services before it
 * (the pre phase), and runs beside the app's start instead of after it.
 */
export function coldStart(plan: Plan): Plan {
  const kind = new Map(plan.steps.map((s) => [s.service, s.kind]));
  const app = (on: string) => kind.get(on) === 'service' || kind.get(on) === 'proxy' || kind.get(on) === 'scheduled';
  return {
    ...plan,
    steps: plan.steps.map((s) => (s.migration?.phase === 'post' ? { ...s, deps: s.deps.filter((d) => !app(d.on)) } : s)),
  };
}
