// The runner's Docker edge: events, inspect, start, logs, exec, and a throwaway container for a migration
// check. The runner sees only the `UpEngine` interface, so it is tested with a fake engine.
import { PhaseComposeError } from '../util/errors.js';
import { connect, isIPv4 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DockerClient } from '../docker/client.js';
import { listProject } from '../docker/containers.js';
import { subscribeProjectEvents, subscribeVolumeCreates, type EventSubscription } from '../docker/events.js';
import { execIn } from '../docker/exec.js';
import { L_SERVICE } from '../docker/labels.js';
import { engineSocket } from './compose-gate.js';
import { inspectStatus, type HealthEntry, type Observation } from './state.js';

/** What the start-up runner asks of Docker. */
export type UpEngine = {
  /**
   * Open when it resolves: nothing that happens afterwards is missed. `onEvent` gets the raw Engine events
   * of the project's containers, and every volume `create` event; `onLost` is told (once) when the
   * Engine's stream fails or ends before `close()`.
   */
  subscribe(project: string, onEvent: (raw: unknown) => void, onLost: (e: Error) => void): Promise<EventSubscription>;
  containersByService(project: string): Promise<Map<string, string[]>>;
  inspect(id: string, now: number): Promise<Inspected>;
  /** Starts a container; one that is already running is fine. */
  start(id: string): Promise<void>;
  logs(id: string, tail: number): Promise<string>;
  /** Runs argv in a running container (our healthcheck probe). */
  exec(id: string, argv: string[]): Promise<{ exitCode: number; output: string }>;
  /**
   * Resolves true once the running container accepts a TCP connection on `port`, false when `signal`
   * aborts first or it has no address this host can try. Absent where container addresses are not
   * reachable from here (a remote Engine).
   */
  watchPort?(id: string, port: number, signal: AbortSignal): Promise<boolean>;
  /** Runs argv once in a throwaway copy of a (not running) container; removed after, or at once when `signal` aborts. */
  runLike(baseId: string, argv: string[], labels: Record<string, string>, signal?: AbortSignal): Promise<{ exitCode: number; output: string }>;
};

/**
 * The real engine, through dockerode. Health ports are watched where the Engine is a local socket (a
 * remote Engine's container addresses are not this host's to reach).
 */
export function dockerEngine(docker: DockerClient, dockerHost = process.env.DOCKER_HOST): UpEngine {
  return {
    ...(engineSocket(dockerHost) ? { watchPort: (id: string, port: number, signal: AbortSignal) => watchPort(docker, id, port, signal) } : {}),
    subscribe: async (project, onEvent, onLost) => {
      let lost = false;
      const once = (e: Error) => {
        if (!lost) onLost(e);
        lost = true;
      };
      const subs = await Promise.allSettled([subscribeProjectEvents(docker, project, onEvent, once), subscribeVolumeCreates(docker, onEvent, once)]);
      const close = () => subs.forEach((s) => s.status === 'fulfilled' && s.value.close());
      const failed = subs.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) {
        close(); // the one that opened is not left open
        throw failed.reason;
      }
      return { close };
    },
    containersByService: (project) => containersByService(docker, project),
    inspect: (id, now) => inspectContainer(docker, id, now),
    start: (id) => startContainer(docker, id),
    logs: (id, tail) => containerLogs(docker, id, tail),
    exec: (id, argv) => execIn(docker, id, argv),
    runLike: (baseId, argv, labels, signal) => runLike(docker, baseId, argv, labels, undefined, signal),
  };
}

export type Inspected = {
  obs: Extract<Observation, { type: 'inspect' }>;
  healthTest?: string[];
  healthTimeoutMs?: number;
  /** Names of the named volumes mounted in the container. */
  volumes: string[];
  /** How often its restart policy has restarted it (Docker's RestartCount). */
  restarts?: number;
};

/** Inspects a container into an observation (plus its healthcheck test, for our own probe). */
export async function inspectContainer(docker: DockerClient, id: string, now: number): Promise<Inspected> {
  const i = await docker.getContainer(id).inspect();
  const health = i.State.Health as { Status?: string; Log?: Array<{ Start?: string; ExitCode?: number; Output?: string }> } | undefined;
  const h = health?.Status;
  const healthLog: HealthEntry[] | undefined = health?.Log?.map((l) => ({ start: l.Start, exitCode: l.ExitCode ?? -1, output: l.Output ?? '' }));
  const hc = i.Config.Healthcheck as { Test?: string[]; Timeout?: number } | undefined;
  return {
    obs: {
      type: 'inspect',
      id: i.Id,
      name: i.Name.replace(/^\//, ''),
      service: i.Config.Labels?.[L_SERVICE] ?? '',
      status: inspectStatus(i.State.Status),
      ...(h === 'healthy' || h === 'unhealthy' || h === 'starting' ? { health: h } : {}),
      ...(i.State.Status === 'exited' || i.State.Status === 'dead' ? { exitCode: i.State.ExitCode } : {}),
      ...(healthLog ? { healthLog } : {}),
      time: now,
    },
    healthTest: hc?.Test,
    healthTimeoutMs: hc?.Timeout ? Math.round(hc.Timeout / 1e6) : undefined,
    volumes: (i.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Name!),
    ...(i.RestartCount ? { restarts: i.RestartCount } : {}),
  };
}

/** How often a closed health port is tried again, and how long one try may take. */
const PORT_RETRY_MS = 50;
const PORT_TRY_MS = 250;

/**
 * Tries a TCP connection from this host to `port` on each of the container's IPv4 addresses, every
 * PORT_RETRY_MS, until one is accepted (true) or `signal` aborts (false). Each try is bounded by
 * PORT_TRY_MS and closed at once: nothing is sent (PostgreSQL >= 13 does not log such a connection).
 */
export async function watchPort(docker: DockerClient, id: string, port: number, signal: AbortSignal): Promise<boolean> {
  const i = await docker.getContainer(id).inspect();
  const nets = (i.NetworkSettings?.Networks ?? {}) as Record<string, { IPAddress?: string }>;
  const addresses = Object.values(nets).map((n) => n.IPAddress ?? '').filter((a) => isIPv4(a));
  while (addresses.length && !signal.aborted) {
    for (const host of addresses) if (await accepts(host, port, signal)) return true;
    await sleep(PORT_RETRY_MS, undefined, { signal }).catch(() => {});
  }
  return false;
}

/** One bounded TCP connect: true when accepted. The socket is destroyed either way. */
function accepts(host: string, port: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', abort);
      socket.destroy();
      resolve(ok);
    };
    const abort = () => done(false);
    const timer = setTimeout(abort, PORT_TRY_MS);
    signal.addEventListener('abort', abort, { once: true });
    socket.once('connect', () => done(true));
    socket.on('error', abort);
  });
}

/** Container ids of the project by service (one-off `run` containers left out). */
export async function containersByService(docker: DockerClient, project: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const all = await listProject(docker, project);
  for (const c of all.sort((a, b) => a.Created - b.Created)) {
    const s = c.Labels[L_SERVICE];
    if (!s) continue;
    out.set(s, [...(out.get(s) ?? []), c.Id]);
  }
  return out;
}

/** Starts a container; a container that is already running is fine. */
export async function startContainer(docker: DockerClient, id: string): Promise<void> {
  try {
    await docker.getContainer(id).start();
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode !== 304) throw e;
  }
}

/** Splits Docker's multiplexed log format (8-byte frame headers) into text; plain text passes through. */
export function demuxLogs(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const type = buf[i]!;
    if (type > 2 || buf[i + 1] !== 0 || buf[i + 2] !== 0 || buf[i + 3] !== 0) return buf.toString('utf8');
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** The last `tail` lines of a container's stdout and stderr, interleaved. */
export async function containerLogs(docker: DockerClient, id: string, tail = 50): Promise<string> {
  const b = (await docker.getContainer(id).logs({ stdout: true, stderr: true, tail, follow: false })) as unknown as Buffer;
  return demuxLogs(Buffer.isBuffer(b) ? b : Buffer.from(String(b)));
}

/**
 * Runs `argv` once in a throwaway container made from `baseId`'s image (or `image`), environment, mounts and
 * network (the migrations container is not running, and a Compose call would cost more). Removed after.
 */
export async function runLike(docker: DockerClient, baseId: string, argv: string[], label: Record<string, string>, image?: string, signal?: AbortSignal): Promise<{ exitCode: number; output: string }> {
  const b = await docker.getContainer(baseId).inspect();
  // Another image: leave out what the old image's own ENV put in the container, so the new image's applies.
  const old = image ? (await docker.getImage(b.Image).inspect()).Config : undefined;
  const oldImageEnv = new Set(old?.Env ?? []);
  const own = <T>(v: T, fromImage: unknown): T | undefined => (old && JSON.stringify(v) === JSON.stringify(fromImage) ? undefined : v);
  const c = await docker.createContainer({
    Image: image ?? b.Config.Image,
    Cmd: argv,
    Entrypoint: own(b.Config.Entrypoint as string[] | undefined, old?.Entrypoint),
    Env: (b.Config.Env ?? []).filter((e) => !oldImageEnv.has(e)),
    WorkingDir: own(b.Config.WorkingDir, old?.WorkingDir),
    User: own(b.Config.User, old?.User),
    Labels: label,
    HostConfig: { NetworkMode: b.HostConfig.NetworkMode, Binds: b.HostConfig.Binds ?? undefined, Mounts: b.HostConfig.Mounts },
  });
  // Ctrl-C, SIGTERM or SIGHUP (`signal`) removes the throwaway container at once, and the run is interrupted.
  const interrupted = () => new PhaseComposeError('interrupted', `interrupted (${String(signal?.reason ?? 'signal')}) while ${argv.join(' ')} ran in a throwaway container; it was removed, nothing was changed`);
  const removeNow = () => void c.remove({ force: true }).catch(() => {});
  signal?.addEventListener('abort', removeNow, { once: true });
  try {
    if (signal?.aborted) throw interrupted();
    await c.start();
    const r = (await c.wait().catch((e: Error) => {
      if (signal?.aborted) throw interrupted();
      throw e;
    })) as { StatusCode: number };
    if (signal?.aborted) throw interrupted();
    const logs = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    return { exitCode: r.StatusCode, output: demuxLogs(logs) };
  } catch (e) {
    throw signal?.aborted ? interrupted() : e;
  } finally {
    signal?.removeEventListener('abort', removeNow);
    await c.remove({ force: true }).catch(() => {});
  }
}
