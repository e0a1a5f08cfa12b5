// Per-container and per-service state, reduced from Docker events, inspect results and our own health
// probes. Pure: tested with hand-written observations, no Docker.
import type { DependsCondition } from '../spec/types.js';

export type HealthEntry = { start?: string; exitCode: number; output: string };

export type ContainerState = {
  id: string;
  name: string;
  service: string;
  status: 'created' | 'running' | 'exited' | 'restarting' | 'removed' | 'other';
  health?: 'starting' | 'healthy' | 'unhealthy';
  /** Our exec run of the healthcheck command passed. */
  probeHealthy?: boolean;
  exitCode?: number;
  /** Time (ms) of the last state change. */
  since: number;
  healthLog?: HealthEntry[];
};

/** What the runner learns about containers, in the order it learns it. */
export type Observation =
  | {
      type: 'inspect';
      id: string;
      name: string;
      service: string;
      status: ContainerState['status'];
      health?: ContainerState['health'];
      exitCode?: number;
      healthLog?: HealthEntry[];
      time: number;
    }
  | { type: 'event'; action: string; id: string; name: string; service: string; exitCode?: number; time: number }
  | { type: 'probe'; id: string; ok: boolean; output: string; time: number }
  /** The runner is about to (re)start a job: forget its previous exit. */
  | { type: 'reset'; id: string; time: number };

export type State = { containers: Map<string, ContainerState> };

export const emptyState = (): State => ({ containers: new Map() });

const STATUS: Record<string, ContainerState['status']> = {
  created: 'created',
  running: 'running',
  exited: 'exited',
  dead: 'exited',
  restarting: 'restarting',
  removing: 'removed',
  paused: 'other',
};

/** Maps `State.Status` of docker inspect to ours. */
export const inspectStatus = (s: string | undefined): ContainerState['status'] => STATUS[s ?? ''] ?? 'other';

/** Applies one observation; returns a new state (the old one is not modified). */
export function reduce(state: State, o: Observation): State {
  const containers = new Map(state.containers);
  const prev = containers.get(o.id);
  const put = (c: ContainerState) => containers.set(c.id, c);
  switch (o.type) {
    case 'inspect':
      put({
        ...(prev ?? {}),
        id: o.id,
        name: o.name,
        service: o.service,
        status: o.status,
        health: o.health,
        exitCode: o.status === 'exited' ? o.exitCode : undefined,
        since: prev && prev.status === o.status && prev.health === o.health ? prev.since : o.time,
        ...(o.healthLog ? { healthLog: o.healthLog } : {}),
      });
      break;
    case 'event': {
      const base: ContainerState = prev ?? { id: o.id, name: o.name, service: o.service, status: 'other', since: o.time };
      const a = o.action;
      // A container is created once: a late `create` after an inspect already saw it must not regress it.
      if (a === 'create') { if (!prev) put({ ...base, status: 'created', since: o.time }); }
      else if (a === 'start') put({ ...base, status: 'running', health: base.health ? 'starting' : undefined, probeHealthy: false, exitCode: undefined, since: o.time });
      else if (a === 'die') put({ ...base, status: 'exited', exitCode: o.exitCode, probeHealthy: false, since: o.time });
      else if (a === 'destroy') put({ ...base, status: 'removed', since: o.time });
      else if (a.startsWith('health_status')) {
        const h = a.slice(a.indexOf(':') + 1).trim();
        if (h === 'healthy' || h === 'unhealthy' || h === 'starting') put({ ...base, health: h, since: o.time });
      }
      break;
    }
    case 'probe':
      if (prev && prev.status === 'running' && o.ok && !prev.probeHealthy) put({ ...prev, probeHealthy: true, since: o.time });
      break;
    case 'reset':
      if (prev) put({ ...prev, status: 'created', exitCode: undefined, probeHealthy: false, since: o.time });
      break;
  }
  return { containers };
}

/** Where a service stands, over all its tracked containers (replicas). */
export type ServiceStatus = {
  state: 'missing' | 'created' | 'starting' | 'running' | 'healthy' | 'completed' | 'exited' | 'unhealthy' | 'removed';
  /** Set when the service failed: it exited (or a job exited non-zero) or turned unhealthy. */
  failed?: { reason: 'exited' | 'unhealthy' | 'removed'; container: ContainerState };
  since: number;
};

/** Ready by Docker's health status or by our own probe, whichever said so first. */
const isHealthy = (c: ContainerState) => c.status === 'running' && (c.health === 'healthy' || !!c.probeHealthy);

/**
 * Folds the containers `ids` of one service. A job is `completed` when every container exited 0;
 * a long-running service that exited, or any container that turned unhealthy, is failed.
 */
export function serviceStatus(state: State, ids: string[], role: 'service' | 'job', hasHealthcheck: boolean): ServiceStatus {
  const cs = ids.map((id) => state.containers.get(id)).filter((c): c is ContainerState => !!c);
  if (!cs.length) return { state: 'missing', since: 0 };
  const since = Math.max(...cs.map((c) => c.since));
  const bad = cs.find((c) => c.status === 'removed') ?? cs.find((c) => c.status === 'exited' && (role === 'service' || c.exitCode !== 0));
  if (bad) return { state: bad.status === 'removed' ? 'removed' : 'exited', failed: { reason: bad.status === 'removed' ? 'removed' : 'exited', container: bad }, since };
  const sick = cs.find((c) => c.status === 'running' && c.health === 'unhealthy' && !c.probeHealthy);
  if (sick) return { state: 'unhealthy', failed: { reason: 'unhealthy', container: sick }, since };
  if (role === 'job') {
    if (cs.every((c) => c.status === 'exited' && c.exitCode === 0)) return { state: 'completed', since };
    if (cs.some((c) => c.status === 'running' || c.status === 'restarting')) return { state: 'running', since };
    return { state: 'created', since };
  }
  if (cs.every((c) => c.status === 'running')) {
    if (hasHealthcheck && cs.every(isHealthy)) return { state: 'healthy', since };
    return { state: hasHealthcheck ? 'starting' : 'running', since };
  }
  if (cs.some((c) => c.status === 'running' || c.status === 'restarting')) return { state: 'starting', since };
  return { state: 'created', since };
}

/** Whether a service in `status` satisfies a dependency `condition`. */
export function satisfies(status: ServiceStatus, condition: DependsCondition): boolean {
  if (status.failed) return false;
  if (condition === 'completed') return status.state === 'completed';
  if (condition === 'healthy') return status.state === 'healthy';
  return status.state === 'running' || status.state === 'healthy' || status.state === 'starting' || status.state === 'completed';
}

/** Turns one Engine event (from GET /events) into an observation; undefined for what we ignore. */
export function fromEngineEvent(raw: unknown, serviceLabel = 'com.docker.compose.service'): Extract<Observation, { type: 'event' }> | undefined {
  const e = raw as { Type?: string; Action?: string; status?: string; id?: string; time?: number; timeNano?: number; Actor?: { ID?: string; Attributes?: Record<string, string> } };
  if (e.Type !== 'container') return undefined;
  const action = e.Action ?? e.status ?? '';
  if (!/^(create|start|die|destroy|health_status)/.test(action)) return undefined;
  const attrs = e.Actor?.Attributes ?? {};
  const service = attrs[serviceLabel];
  const id = e.Actor?.ID ?? e.id;
  if (!service || !id || attrs['com.docker.compose.oneoff'] === 'True') return undefined;
  const time = e.timeNano ? Math.floor(e.timeNano / 1e6) : (e.time ?? 0) * 1000;
  const exitCode = attrs.exitCode !== undefined ? Number(attrs.exitCode) : undefined;
  return { type: 'event', action, id, name: attrs.name ?? id.slice(0, 12), service, ...(exitCode !== undefined ? { exitCode } : {}), time };
}

/** The volume's name when a raw Engine event is a volume `create`; undefined otherwise. */
export function volumeCreated(raw: unknown): string | undefined {
  const e = raw as { Type?: string; Action?: string; Actor?: { ID?: string } };
  return e.Type === 'volume' && e.Action === 'create' && e.Actor?.ID ? e.Actor.ID : undefined;
}
