// The runner's Docker edge: inspect, start, logs, and a throwaway container for a migration check.
import type { DockerClient } from '../docker/client.js';
import { listProject } from '../docker/containers.js';
import { L_SERVICE } from '../docker/labels.js';
import { inspectStatus, type HealthEntry, type Observation } from './state.js';

export type Inspected = { obs: Extract<Observation, { type: 'inspect' }>; healthTest?: string[]; healthTimeoutMs?: number };

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
  };
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
 * Runs `argv` once in a throwaway container made from `baseId`'s image, environment, mounts and
 * network (the migrations container is not running, and a Compose call would cost more). Removed after.
 */
export async function runLike(docker: DockerClient, baseId: string, argv: string[], label: Record<string, string>): Promise<{ exitCode: number; output: string }> {
  const b = await docker.getContainer(baseId).inspect();
  const c = await docker.createContainer({
    Image: b.Config.Image,
    Cmd: argv,
    Entrypoint: b.Config.Entrypoint as string[] | undefined,
    Env: b.Config.Env,
    WorkingDir: b.Config.WorkingDir,
    User: b.Config.User,
    Labels: label,
    HostConfig: { NetworkMode: b.HostConfig.NetworkMode, Binds: b.HostConfig.Binds ?? undefined, Mounts: b.HostConfig.Mounts },
  });
  try {
    await c.start();
    const r = (await c.wait()) as { StatusCode: number };
    const logs = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    return { exitCode: r.StatusCode, output: demuxLogs(logs) };
  } finally {
    await c.remove({ force: true }).catch(() => {});
  }
}

/** Whether every named volume of the container was created at or after `sinceMs` (a brand-new database). */
export async function volumesCreatedSince(docker: DockerClient, id: string, sinceMs: number): Promise<boolean> {
  const i = await docker.getContainer(id).inspect();
  const vols = (i.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name);
  if (!vols.length) return false;
  for (const m of vols) {
    const v = (await docker.getVolume(m.Name!).inspect()) as unknown as { CreatedAt?: string };
    // CreatedAt has whole seconds: allow for the rounding.
    if (!v.CreatedAt || Date.parse(v.CreatedAt) < sinceMs - 1000) return false;
  }
  return true;
}
