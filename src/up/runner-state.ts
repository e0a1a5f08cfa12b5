// Everything the start-up runner knows, and the one function that changes it. `decide` reads this state
// and says what to do; the loop applies each action it carries out (so it is not asked again) and each
// result an edge reports (an Engine event, an inspect, a check's answer...). No I/O here.
import { POSTGRES_SERVICE } from '../model/compose.js';
import { healthcheckArgv } from '../docker/waiter.js';
import type { Inspected } from './engine.js';
import type { PendingAnswer } from './pending.js';
import type { MigrationPhase, Plan, Step } from './plan.js';
import type { ProgressRow } from './progress.js';
import { emptyState, fromEngineEvent, reduce, satisfies, serviceStatus, volumeCreated, type Observation, type ServiceStatus, type State } from './state.js';

export type StepPhase = 'waiting' | 'checking' | 'backing up' | 'starting' | 'started' | 'skipped';

/** A creation batch: not yet asked for, prepared (Compose may start early), released to Compose, tracked. */
export type BatchState = {
  stage: 'pending' | 'prepared' | 'creating' | 'tracking';
  /** When it was released: create events from before (less a second of clock skew) are someone else's. */
  releasedAt?: number;
  /** Compose's call for it ended. */
  composeDone: boolean;
  /** The project's containers by service, listed once Compose ended without a create event for each. */
  listed?: 'asked' | Map<string, string[]>;
};

/**
 * Our own healthcheck run on one container: one at a time, every `probeIntervalMs`, until it passes. A
 * run that overran its timeout counts as failed at once, but stays in flight until its exec ends: the
 * API cannot stop an exec, and a new one beside it would pile up processes in a hung container.
 */
export type ProbeState = { inFlight: boolean; began: number; nextAt: number; over: boolean };

/**
 * The watch on a container's health port (its step's `port`): a TCP connect from this host, tried every
 * few tens of ms, that says when the service began to listen. It costs the Engine nothing (an exec costs
 * it a process), so the healthcheck runs as soon as it can pass instead of at the next probe interval.
 */
export type PortWatch = { state: 'watching' } | { state: 'open'; at: number } | { state: 'done' };

/**
 * Once the port is open the service is close to ready: for OPEN_PORT_FAST_MS it is probed at this cadence
 * (or the set one, if shorter), then at the set one again (an app that answers 503 while it warms up).
 */
export const OPEN_PORT_PROBE_MS = 250;
export const OPEN_PORT_FAST_MS = 3000;
/** At most this many ports are watched at once (1000 replicas would be 20,000 connects a second). */
export const MAX_PORT_WATCHES = 16;

export type RunnerOptions = {
  project: string;
  timeoutMs: number;
  forceMigrations: boolean;
  probeIntervalMs: number;
  /** Container addresses are reachable from here (a local Engine): watch health ports. */
  watchPorts?: boolean;
  /** A pre-migration backup is configured. */
  backup: boolean;
};

export type RunnerState = {
  plan: Plan;
  opts: RunnerOptions;
  t0: number;
  now: number;
  containers: State;
  /** Container create events, in order. */
  creations: Array<{ service: string; id: string; time: number }>;
  /** Volumes the Engine created during this run, and the postgres container's named volumes. */
  createdVolumes: Set<string>;
  dbVolumes: string[];
  batches: BatchState[];
  /** Containers of each service, once all of them exist (Compose created them, or they were there). */
  tracked: Map<string, string[]>;
  healthTests: Map<string, { argv: string[]; timeoutMs: number }>;
  phase: Map<string, StepPhase>;
  readyAt: Map<string, number>;
  /** Each migration step's pending check: under way, or its answer. */
  checks: Map<string, 'running' | PendingAnswer>;
  backup: 'none' | 'running' | 'done' | 'skipped';
  backupLine?: string;
  migrations: Partial<Record<MigrationPhase, 'ran' | 'skipped'>>;
  probes: Map<string, ProbeState>;
  ports: Map<string, PortWatch>;
  probeOutput: Map<string, string>;
  interrupted: boolean;
  /** The first error an edge raised: the run stops with it. */
  error?: { error: unknown };
};

export function runnerState(plan: Plan, opts: RunnerOptions, t0: number): RunnerState {
  return {
    plan,
    opts,
    t0,
    now: t0,
    containers: emptyState(),
    creations: [],
    createdVolumes: new Set(),
    dbVolumes: [],
    batches: plan.batches.map(() => ({ stage: 'pending', composeDone: false })),
    tracked: new Map(),
    healthTests: new Map(),
    phase: new Map(plan.steps.map((s) => [s.service, 'waiting'])),
    readyAt: new Map(),
    checks: new Map(),
    backup: 'none',
    migrations: {},
    probes: new Map(),
    ports: new Map(),
    probeOutput: new Map(),
    interrupted: false,
  };
}

/** What an edge reports back to the loop. */
export type Result =
  | { type: 'engine-event'; raw: unknown }
  | { type: 'compose-done'; batch: number }
  | { type: 'listed'; batch: number; byService: Map<string, string[]> }
  | { type: 'inspected'; service: string; inspected: Inspected }
  | { type: 'tracked'; service: string; ids: string[] }
  | { type: 'checked'; service: string; answer: PendingAnswer }
  | { type: 'backed-up'; line: string }
  | { type: 'observed'; obs: Observation }
  | { type: 'started'; service: string }
  | { type: 'probed'; id: string; ok: boolean; output: string; overran?: boolean }
  /** The exec of a probe that overran its timeout ended. */
  | { type: 'probe-ended'; id: string }
  /** A TCP connect to the container's health port succeeded. */
  | { type: 'port-open'; id: string }
  | { type: 'interrupted' }
  | { type: 'errored'; error: unknown };

/** A failure to report: the loop gathers its facts (inspect, logs) from the engine. */
export type FailureSpec = { service: string; what: string; id?: string; exitCode?: number };

/** What `decide` asks for. */
export type Action =
  /** Let Compose do its slow part for a batch early (it creates nothing before `create`). */
  | { type: 'prepare'; batch: number }
  /** Release a batch: Compose creates its containers. */
  | { type: 'create'; batch: number }
  /** List the project's containers: Compose ended without a create event for some service. */
  | { type: 'list'; batch: number }
  /** Inspect a batch's containers and track them per service. */
  | { type: 'track'; batch: number; ids: Array<[service: string, ids: string[]]> }
  /** Run a migration step's pending check. */
  | { type: 'check'; service: string; baseId: string; argv: string[] }
  /** A migration step's answer, known without a check (also a Result). */
  | { type: 'checked'; service: string; answer: PendingAnswer }
  /** What a migration step waits on is ready: see whether it has to run. */
  | { type: 'begin'; service: string }
  /** Nothing pending: the migration step is done without running. */
  | { type: 'skip'; service: string; phase: MigrationPhase; notes: string[] }
  /** Wait for the pre-migration backup; `take`: start it (only the first step that needs it does). */
  | { type: 'backup'; service: string; take: boolean }
  /** Start a step's containers. `skipBackup`: the backup is not needed in this run (a fresh database). */
  | { type: 'start'; service: string; notes: string[]; skipBackup?: boolean }
  | { type: 'probe'; id: string; argv: string[]; timeoutMs: number }
  /** Watch a container's health port (see PortWatch); `unwatch-port` ends a watch whose probe is over. */
  | { type: 'watch-port'; id: string; port: number }
  | { type: 'unwatch-port'; id: string }
  /** The probe of a container that passed Docker's healthcheck, exited or vanished ends. */
  | { type: 'stop-probe'; id: string }
  /** A step reached what it must: its elapsed time stops. */
  | { type: 'ready'; service: string }
  | { type: 'finish'; status: 'ready' | 'failed' | 'timeout' | 'interrupted'; failures: FailureSpec[] }
  /** An edge failed: the run stops with its error. */
  | { type: 'throw' }
  /** Nothing to do until something is reported, or until `until` (a probe due, the deadline, a redraw). */
  | { type: 'wait'; until: number };

/** Applies what the loop carried out, or what an edge reported. Changes `s` in place: only the loop calls it. */
export function apply(s: RunnerState, e: Action | Result): void {
  switch (e.type) {
    case 'engine-event': {
      const v = volumeCreated(e.raw);
      if (v) s.createdVolumes.add(v);
      const o = fromEngineEvent(e.raw);
      if (o?.action === 'create') s.creations.push({ service: o.service, id: o.id, time: o.time });
      if (o) s.containers = reduce(s.containers, o);
      return;
    }
    case 'prepare':
      s.batches[e.batch]!.stage = 'prepared';
      return;
    case 'create':
      Object.assign(s.batches[e.batch]!, { stage: 'creating', releasedAt: s.now });
      return;
    case 'compose-done':
      s.batches[e.batch]!.composeDone = true;
      return;
    case 'list':
      s.batches[e.batch]!.listed = 'asked';
      return;
    case 'listed':
      s.batches[e.batch]!.listed = e.byService;
      return;
    case 'track':
      s.batches[e.batch]!.stage = 'tracking';
      return;
    case 'inspected': {
      const i = e.inspected;
      if (e.service === POSTGRES_SERVICE) s.dbVolumes = i.volumes;
      s.containers = reduce(s.containers, i.obs);
      const argv = healthcheckArgv(i.healthTest);
      if (argv) s.healthTests.set(i.obs.id, { argv, timeoutMs: i.healthTimeoutMs ?? 5000 });
      return;
    }
    case 'tracked':
      s.tracked.set(e.service, e.ids);
      return;
    case 'check':
      s.checks.set(e.service, 'running');
      return;
    case 'checked':
      s.checks.set(e.service, e.answer);
      return;
    case 'begin':
      s.phase.set(e.service, 'checking');
      return;
    case 'skip':
      s.phase.set(e.service, 'skipped');
      s.readyAt.set(e.service, s.now);
      s.migrations[e.phase] = 'skipped';
      return;
    case 'backup':
      s.phase.set(e.service, 'backing up');
      if (e.take) s.backup = 'running';
      return;
    case 'backed-up':
      s.backup = 'done';
      s.backupLine = e.line;
      return;
    case 'start': {
      const m = stepOf(s, e.service)?.migration;
      if (m) s.migrations[m.phase] = 'ran';
      if (e.skipBackup) s.backup = 'skipped';
      s.phase.set(e.service, 'starting');
      return;
    }
    case 'observed':
      s.containers = reduce(s.containers, e.obs);
      return;
    case 'started':
      s.phase.set(e.service, 'started');
      return;
    case 'probe':
      s.probes.set(e.id, { inFlight: true, began: s.now, nextAt: s.now, over: false });
      return;
    case 'probed': {
      const p = s.probes.get(e.id);
      const w = s.ports.get(e.id);
      const fast = w?.state === 'open' && s.now - w.at < OPEN_PORT_FAST_MS;
      const every = fast ? Math.min(s.opts.probeIntervalMs, OPEN_PORT_PROBE_MS) : s.opts.probeIntervalMs;
      if (p) s.probes.set(e.id, { ...p, inFlight: !!e.overran, nextAt: p.began + every, over: e.ok });
      s.probeOutput.set(e.id, e.output);
      s.containers = reduce(s.containers, { type: 'probe', id: e.id, ok: e.ok, output: e.output, time: s.now });
      return;
    }
    case 'probe-ended': {
      const p = s.probes.get(e.id);
      if (p?.inFlight) s.probes.set(e.id, { ...p, inFlight: false });
      return;
    }
    case 'watch-port':
      s.ports.set(e.id, { state: 'watching' });
      return;
    case 'unwatch-port':
      s.ports.set(e.id, { state: 'done' });
      return;
    case 'port-open': {
      if (s.ports.get(e.id)?.state !== 'watching') return;
      s.ports.set(e.id, { state: 'open', at: s.now });
      const p = s.probes.get(e.id);
      if (p && !p.over && !p.inFlight) s.probes.set(e.id, { ...p, nextAt: Math.min(p.nextAt, s.now) });
      return;
    }
    case 'stop-probe':
      s.probes.set(e.id, { ...(s.probes.get(e.id) ?? { inFlight: false, began: s.now, nextAt: s.now }), over: true });
      return;
    case 'ready':
      s.readyAt.set(e.service, s.now);
      return;
    case 'interrupted':
      s.interrupted = true;
      return;
    case 'errored':
      s.error ??= { error: e.error };
      return;
    case 'finish':
    case 'throw':
    case 'wait':
      return;
  }
}

export const stepOf = (s: RunnerState, service: string): Step | undefined => s.plan.steps.find((x) => x.service === service);

/** Where a step stands in this run. */
export function stepStatus(s: RunnerState, service: string): ServiceStatus {
  const phase = s.phase.get(service);
  if (phase === 'skipped') return { state: 'completed', since: s.readyAt.get(service) ?? s.t0 };
  const step = stepOf(s, service);
  if (!step) return { state: 'missing', since: 0 };
  // A job's earlier exit (a previous `up`) says nothing about this run: only a run we started counts.
  if (step.role === 'job' && phase !== 'started') return { state: 'created', since: s.t0 };
  return serviceStatus(s.containers, s.tracked.get(service) ?? [], step.role, step.readyWhen === 'healthy');
}

export const isReady = (s: RunnerState, step: Step): boolean => satisfies(stepStatus(s, step.service), step.readyWhen);

/** Whether a dependency holds; one on a service outside the plan always does. */
export const depSatisfied = (s: RunnerState, d: Step['deps'][number]): boolean => !stepOf(s, d.on) || satisfies(stepStatus(s, d.on), d.condition);

/** The progress rows: each step's phase until it started, then its state; the time until it was ready. */
export function progressRows(s: RunnerState): ProgressRow[] {
  return s.plan.steps.map((step) => {
    const p = s.phase.get(step.service)!;
    const state = p === 'skipped' ? 'skipped' : p === 'started' || isReady(s, step) ? stepStatus(s, step.service).state : p;
    return { service: step.service, state, elapsedMs: (s.readyAt.get(step.service) ?? s.now) - s.t0 };
  });
}
