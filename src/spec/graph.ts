// The stack as a dependency graph: every generated service with what it waits for and how.
// Pure, and below the model: validation (references, cycles) needs it, as do the generator (depends_on)
// and `up` (waves).
import type { DependsCondition } from './types.js';
import type { NormalisedSpec } from './normalise.js';

export type NodeKind = 'data' | 'service' | 'job' | 'migrations' | 'migrations-post' | 'proxy' | 'scheduled';

export type Dependency = {
  on: string;
  condition: DependsCondition;
  /** Dotted spec path the dependency came from, for error messages. */
  from: string;
  implicit: boolean;
};

export type GraphNode = {
  name: string;
  kind: NodeKind;
  /** `job`s run once and exit; everything else is long-running. */
  role: 'service' | 'job';
  hasHealthcheck: boolean;
  deps: Dependency[];
  /** Dotted spec path that declares the node. */
  path: string;
};

export type Graph = { nodes: Map<string, GraphNode> };

export const migrationsName = (spec: NormalisedSpec): string => spec.migrations?.service ?? 'migrations'; // a name even when the spec has no migrations: callers compare with it
export const postMigrationsName = (spec: NormalisedSpec): string => `${migrationsName(spec)}-post`;
export const proxyName = (spec: NormalisedSpec): string => spec.proxy?.service ?? 'nginx'; // as above, for a spec without a proxy
export const scheduledName = (spec: NormalisedSpec): string => `${spec.retention?.task ?? 'task'}-schedule`; // as above, without retention

/** The services of the `before` list that have a healthcheck: what the post phase waits for by default. */
export function postPhaseAfter(spec: NormalisedSpec): string[] {
  const m = spec.migrations;
  if (!m?.post) return [];
  if (m.post.after) return m.post.after;
  return m.before.filter((s) => hasServiceHealthcheck(spec, s));
}

function hasServiceHealthcheck(spec: NormalisedSpec, name: string): boolean {
  const hc = spec.services[name]?.healthcheck;
  return !!hc && !hc.disable && !!(hc.http || hc.tcp || hc.command);
}

function dataNames(spec: NormalisedSpec): string[] {
  return Object.keys(spec.data).filter((k) => (spec.data as Record<string, unknown>)[k]);
}

function normalizeDeps(
  deps: string[] | Record<string, DependsCondition> | undefined,
  from: string,
  defaultCondition: (on: string) => DependsCondition,
): Dependency[] {
  if (!deps) return [];
  if (Array.isArray(deps)) return deps.map((on, i) => ({ on, condition: defaultCondition(on), from: `${from}[${i}]`, implicit: false }));
  return Object.entries(deps).map(([on, condition]) => ({ on, condition, from: `${from}.${on}`, implicit: false }));
}

/** Builds the graph. Unknown references are kept (validation reports them). */
export function buildGraph(spec: NormalisedSpec): Graph {
  const nodes = new Map<string, GraphNode>();
  const data = dataNames(spec);
  const mig = spec.migrations;
  const migName = migrationsName(spec);

  // First pass: which names exist and what they are, so list-form dependencies can pick a condition.
  const role = new Map<string, 'service' | 'job'>();
  const healthy = new Set<string>();
  for (const d of data) {
    role.set(d, 'service');
    healthy.add(d);
  }
  for (const [name, s] of Object.entries(spec.services)) {
    role.set(name, s.role);
    if (hasServiceHealthcheck(spec, name)) healthy.add(name);
  }
  if (mig) role.set(migName, 'job');
  if (mig?.post) role.set(postMigrationsName(spec), 'job');
  if (spec.proxy) {
    role.set(proxyName(spec), 'service');
    if (!spec.proxy.healthcheck.disable) healthy.add(proxyName(spec));
  }
  const defaultCondition = (on: string): DependsCondition =>
    role.get(on) === 'job' ? 'completed' : healthy.has(on) ? 'healthy' : 'started';

  for (const d of data) {
    nodes.set(d, { name: d, kind: 'data', role: 'service', hasHealthcheck: true, deps: [], path: `data.${d}` });
  }

  if (mig) {
    const deps = mig.depends_on
      ? normalizeDeps(mig.depends_on, 'migrations.depends_on', defaultCondition)
      : data.map((on) => ({ on, condition: 'healthy' as const, from: 'migrations', implicit: true }));
    nodes.set(migName, { name: migName, kind: 'migrations', role: 'job', hasHealthcheck: false, deps, path: 'migrations' });
  }

  for (const [name, s] of Object.entries(spec.services)) {
    const path = `services.${name}`;
    const deps = normalizeDeps(s.depends_on, `${path}.depends_on`, defaultCondition);
    if (mig?.before.includes(name)) {
      const gate = { on: migName, condition: 'completed' as const, from: 'migrations.before', implicit: true };
      // Waiting on the data services too mirrors what the migrations needed, so a restarted app still waits.
      const dataDeps = (nodes.get(migName)?.deps ?? [])
        .filter((d) => !deps.some((x) => x.on === d.on))
        .map((d) => ({ ...d, from: 'migrations.before', implicit: true }));
      deps.unshift(gate, ...dataDeps);
    }
    nodes.set(name, { name, kind: s.role === 'job' ? 'job' : 'service', role: s.role, hasHealthcheck: healthy.has(name), deps, path });
  }

  if (mig?.post) {
    const name = postMigrationsName(spec);
    const after = postPhaseAfter(spec);
    const deps: Dependency[] = after.map((on, i) => ({
      on,
      condition: 'healthy',
      from: mig.post?.after ? `migrations.post.after[${i}]` : 'migrations.post',
      implicit: !mig.post?.after,
    }));
    deps.push({ on: migName, condition: 'completed', from: 'migrations.post', implicit: true });
    nodes.set(name, { name, kind: 'migrations-post', role: 'job', hasHealthcheck: false, deps, path: 'migrations.post' });
  }

  if (spec.proxy) {
    const name = proxyName(spec);
    const seen = new Set<string>();
    const deps: Dependency[] = [];
    spec.proxy.routes.forEach((r, i) => {
      const on = r.to.split(':')[0]!;
      if (seen.has(on)) return;
      seen.add(on);
      deps.push({ on, condition: defaultCondition(on), from: `proxy.routes[${i}].to`, implicit: false });
    });
    nodes.set(name, { name, kind: 'proxy', role: 'service', hasHealthcheck: healthy.has(name), deps, path: 'proxy' });
  }

  if (spec.retention) {
    const task = spec.maintenance[spec.retention.task];
    const name = scheduledName(spec);
    const deps: Dependency[] = task
      ? [{ on: task.service, condition: defaultCondition(task.service), from: `maintenance.${spec.retention.task}.service`, implicit: false }]
      : [];
    if (mig && !deps.some((d) => d.on === migName)) deps.push({ on: migName, condition: 'completed', from: 'retention', implicit: true });
    nodes.set(name, { name, kind: 'scheduled', role: 'service', hasHealthcheck: false, deps, path: 'retention' });
  }
  return { nodes };
}

/** The nodes whose dependencies reach `target`, directly or through others (`target` not included). Iterative. */
export function dependentsOf(graph: Graph, target: string): Set<string> {
  const dependents = new Map<string, string[]>();
  for (const n of graph.nodes.values()) {
    for (const d of n.deps) dependents.set(d.on, [...(dependents.get(d.on) ?? []), n.name]);
  }
  const found = new Set<string>();
  const todo = [target];
  while (todo.length) {
    for (const n of dependents.get(todo.pop()!) ?? []) {
      if (n === target || found.has(n)) continue;
      found.add(n);
      todo.push(n);
    }
  }
  return found;
}

/** Returns one dependency cycle as a list of names (first = last), or undefined. Iterative: chains of any length. */
export function findCycle(graph: Graph): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  for (const root of graph.nodes.keys()) {
    if (state.has(root)) continue;
    // Depth-first with an explicit stack of [name, index of the next dependency to visit].
    const stack: Array<[string, number]> = [[root, 0]];
    state.set(root, 'visiting');
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const deps = graph.nodes.get(top[0])?.deps ?? [];
      if (top[1] >= deps.length) {
        state.set(top[0], 'done');
        stack.pop();
        continue;
      }
      const next = deps[top[1]++]!.on;
      if (!graph.nodes.has(next) || state.get(next) === 'done') continue;
      if (state.get(next) === 'visiting') {
        const names = stack.map(([n]) => n);
        return [...names.slice(names.indexOf(next)), next];
      }
      state.set(next, 'visiting');
      stack.push([next, 0]);
    }
  }
  return undefined;
}

/**
 * Groups nodes into waves: each wave's nodes depend only on earlier waves. Assumes no cycle.
 * Order inside a wave follows declaration order, so the result is deterministic. Iterative.
 */
export function waves(graph: Graph): string[][] {
  const level = new Map<string, number>();
  const depsOf = (name: string) => (graph.nodes.get(name)?.deps ?? []).filter((d) => graph.nodes.has(d.on)).map((d) => d.on);
  const visiting = new Set<string>(); // guards against cycles
  for (const root of graph.nodes.keys()) {
    const stack = [root];
    while (stack.length) {
      const name = stack[stack.length - 1]!;
      if (level.has(name)) {
        stack.pop();
        continue;
      }
      const pending = visiting.has(name) ? [] : depsOf(name).filter((d) => !level.has(d) && !visiting.has(d));
      visiting.add(name);
      if (pending.length) {
        stack.push(...pending);
        continue;
      }
      stack.pop();
      level.set(name, depsOf(name).reduce((l, d) => Math.max(l, (level.get(d) ?? 0) + 1), 0));
    }
  }
  const out: string[][] = [];
  for (const name of graph.nodes.keys()) (out[level.get(name)!] ??= []).push(name);
  return out.filter(Boolean);
}
