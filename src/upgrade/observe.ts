// Edges of an upgrade: what runs (Engine API), what Compose would create now (`compose config`,
// interpolated with the upgrade's variables), and the rolling replacement's Docker calls.
import { parse } from 'yaml';
import type { DockerClient } from '../docker/client.js';
import { attachedUp, runCompose, type ComposeTarget } from '../docker/compose-cli.js';
import { containerName, listProject } from '../docker/containers.js';
import { execIn } from '../docker/exec.js';
import { L_SERVICE } from '../docker/labels.js';
import { LABEL_PROBE, TLS_CERT_IN_PROXY } from '../model/compose.js';
import type { Clock } from '../up/clock.js';
import { containerLogs, inspectContainer, startContainer } from '../up/engine.js';
import { PhaseComposeError } from '../util/errors.js';
import { readOnDisk } from '../util/fs.js';
import { sha256 } from '../util/hash.js';
import { firstAddress, freeBelow } from '../util/ipv4.js';
import type { RunningContainer, Wanted } from './plan.js';
import type { RollEdges } from './rolling.js';

/**
 * The running containers of the project's services (one-off and stopped ones left out), with their config.
 * `tlsProxy`: the proxy's service when it has TLS: the certificate its containers read is hashed.
 */
export async function runningContainers(docker: DockerClient, project: string, tlsProxy?: string): Promise<RunningContainer[]> {
  const list = (await listProject(docker, project)).filter((c) => c.State === 'running' || c.State === 'restarting');
  const out: RunningContainer[] = [];
  for (const c of list.sort((a, b) => a.Created - b.Created)) {
    const i = await docker.getContainer(c.Id).inspect();
    out.push({
      id: c.Id,
      name: i.Name.replace(/^\//, ''),
      service: c.Labels[L_SERVICE] ?? '',
      imageId: i.Image,
      env: i.Config.Env ?? [],
      ...(i.Config.Cmd ? { cmd: i.Config.Cmd } : {}),
      ...(i.Config.Entrypoint ? { entrypoint: ([] as string[]).concat(i.Config.Entrypoint) } : {}),
      labels: i.Config.Labels ?? {},
      ...(tlsProxy && c.Labels[L_SERVICE] === tlsProxy ? await certificateIn(docker, c.Id) : {}),
    });
  }
  return out;
}

/** A certificate chain is a few KiB; a bigger file is not compared (unknown), and never read past this. */
export const CERT_MAX_BYTES = 1 << 20;

/**
 * The sha256 of the TLS certificate a proxy container reads (at most CERT_MAX_BYTES + 1 bytes of it, so
 * a huge file costs no memory); nothing when it cannot be read (it then counts as unknown).
 */
async function certificateIn(docker: DockerClient, id: string): Promise<{ tlsCertSha256?: string }> {
  const r = await execIn(docker, id, ['head', '-c', String(CERT_MAX_BYTES + 1), TLS_CERT_IN_PROXY]).catch(() => undefined);
  return r?.exitCode === 0 ? { tlsCertSha256: sha256(r.stdout) } : {};
}

/**
 * The sha256 of the certificate file on the host (what a proxy created now would read); undefined when
 * it cannot be read or is bigger than CERT_MAX_BYTES (read no further).
 */
export function certificateOnHost(path: string): string | undefined {
  const d = readOnDisk(path, CERT_MAX_BYTES);
  return d.kind === 'file' ? sha256(d.data.toString('utf8')) : undefined;
}

type KeyValues = Record<string, string | number | boolean | null> | string[];
type ConfigService = { image?: string; environment?: KeyValues; labels?: KeyValues; command?: string[] | string | null; entrypoint?: string[] | string | null };

const argvOf = (v: string[] | string | null | undefined): string[] | undefined => (Array.isArray(v) ? v.map(String) : undefined);
/** A map or a `KEY=value` list (Compose writes either), without unset keys. */
const keyValues = (e: KeyValues | undefined): Record<string, string> => {
  if (Array.isArray(e)) return Object.fromEntries(e.filter((x) => x.includes('=')).map((x) => [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(e ?? {}).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, String(v)]));
};

/** `compose config` output (Compose v1 or v2, interpolated, env files merged) → what each service wants, images not yet resolved. */
export function parseComposeConfig(text: string): Record<string, Omit<Wanted, 'imageId'>> {
  const doc = parse(text) as { services?: Record<string, ConfigService> } | null;
  const out: Record<string, Omit<Wanted, 'imageId'>> = {};
  for (const [name, s] of Object.entries(doc?.services ?? {})) {
    const command = argvOf(s.command);
    const entrypoint = argvOf(s.entrypoint);
    out[name] = { image: s.image ?? '', environment: keyValues(s.environment), labels: keyValues(s.labels), ...(command ? { command } : {}), ...(entrypoint ? { entrypoint } : {}) };
  }
  return out;
}

/** What Compose would create now for each service, with each image's ID on this host. */
export async function wantedServices(docker: DockerClient, target: ComposeTarget): Promise<Record<string, Wanted>> {
  const r = await runCompose(target, ['config']);
  if (r.exitCode !== 0) throw new PhaseComposeError('failed', `\`${r.argv.join(' ')}\` failed (exit ${r.exitCode})`, { details: r.output.trim().split('\n').slice(-10) });
  const parsed = parseComposeConfig(r.output);
  const ids = new Map<string, string | undefined>();
  for (const s of Object.values(parsed)) {
    if (!s.image || ids.has(s.image)) continue;
    ids.set(s.image, await docker.getImage(s.image).inspect().then((i) => i.Id, () => undefined));
  }
  return Object.fromEntries(Object.entries(parsed).map(([k, s]) => {
    const id = ids.get(s.image);
    return [k, { ...s, ...(id ? { imageId: id } : {}) }];
  }));
}

/** The rolling replacement's edges on the real Engine and Compose. */
export function rollEdges(docker: DockerClient, target: ComposeTarget, o: { clock: Clock; signal: AbortSignal; note(line: string): void }): RollEdges {
  type Endpoint = { network: string; aliases: string[]; ip: string; ipv6: string };
  const aliases = new Map<string, Endpoint[]>();
  const endpoints = async (id: string): Promise<{ image: string; eps: Endpoint[] }> => {
    const i = await docker.getContainer(id).inspect();
    return { image: i.Image, eps: Object.entries(i.NetworkSettings.Networks ?? {}).map(([network, ep]) => ({ network, aliases: ep.Aliases ?? [], ip: ep.IPAddress ?? '', ipv6: ep.GlobalIPv6Address ?? '' })) };
  };
  /**
   * Re-makes the endpoints with the aliases `keep` leaves. Known limit: between Docker's disconnect and
   * connect the container has no interface on the network (failures spanned 12 ms in one try by hand, idle Engine 20.10), and a
   * connection it opens then fails at once (ENETUNREACH): a request in flight that opens its database
   * connection right then fails. Pausing the container meanwhile was tried (2026-11-27) and dropped: on
   * Engine 20.10 under load, one was reconnected 0.4 s after its pause but unpaused only 9.9 s after it (an
   * unpause sent after 1 s waited that long in the Engine), and every request it held timed out.
   */
  const remake = async (id: string, eps: Endpoint[], keep: (a: string[]) => string[]) => {
    for (const { network, aliases: a } of eps) {
      const n = docker.getNetwork(network);
      await n.disconnect({ Container: id, Force: true });
      await n.connect({ Container: id, EndpointConfig: { Aliases: keep(a) } });
    }
  };
  /** The free addresses below the endpoint's own (Docker would hand out the lowest instead), or why that cannot be known. */
  const lowerFree = async (ep: Endpoint): Promise<string[] | string> => {
    if (ep.ipv6) return `it has an IPv6 address on ${ep.network}`;
    const n = await docker.getNetwork(ep.network).inspect() as { IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string }> }; Containers?: Record<string, { IPv4Address?: string }> };
    const config = (n.IPAM?.Config ?? []).find((c) => c.Subnet && !c.Subnet.includes(':'));
    // No gateway named: Docker takes the subnet's first address.
    const used = [...Object.values(n.Containers ?? {}).map((c) => c.IPv4Address ?? ''), config?.Gateway || (config?.Subnet ? firstAddress(config.Subnet) : '')];
    return (config?.Subnet && freeBelow(ep.ip, config.Subnet, used)) || `the free addresses of ${ep.network} below its own could not be told`;
  };
  /**
   * Idle containers (`sleep`, in `image`) that take `count` free addresses of a network, lowest first, so
   * that an endpoint made again gets its own address back. Removed by the caller; gone by themselves
   * within two minutes if this process dies.
   */
  const hold = (network: string, image: string, count: number): Promise<string[]> =>
    Promise.all(Array.from({ length: count }, async () => {
      const c = await docker.createContainer({ Image: image, Entrypoint: ['sleep'], Cmd: ['120'], Labels: { [LABEL_PROBE]: target.project }, HostConfig: { NetworkMode: network, AutoRemove: true } });
      await c.start().catch(async (err: Error) => {
        await c.remove({ force: true }).catch(() => {});
        throw err;
      });
      return c.id;
    }));
  /** Retires one container from `service`'s name; see RollEdges.retire. */
  const retire = async (id: string, service: string): Promise<string | undefined> => {
    const { image, eps: all } = await endpoints(id);
    const eps = all.filter((ep) => ep.aliases.includes(service));
    const holds: string[] = [];
    try {
      for (const ep of eps) {
        let free = await lowerFree(ep);
        if (typeof free !== 'string' && free.length) {
          const held = await hold(ep.network, image, free.length).catch(() => []);
          holds.push(...held);
          if (held.length) o.note(`${service}: holding ${held.length} lower free address(es) of ${ep.network} while ${id.slice(0, 12)} leaves the name, so it keeps ${ep.ip}`);
          free = await lowerFree(ep);
        }
        if (typeof free === 'string') return free;
        if (free.length) return `on ${ep.network} a lower address (${free[0]}) is free and could not be held, so Docker would give it another address (cutting its requests in flight)`;
      }
      await remake(id, eps, (a) => a.filter((x) => x !== service));
    } finally {
      await Promise.all(holds.map((h) => docker.getContainer(h).remove({ force: true }).catch(() => {})));
    }
    const now = new Map((await endpoints(id)).eps.map((ep) => [ep.network, ep.ip]));
    const moved = eps.find((ep) => now.get(ep.network) !== ep.ip);
    return moved ? `its address on ${moved.network} changed (${moved.ip} -> ${now.get(moved.network) ?? 'none'}): requests in flight to it were cut` : undefined;
  };
  return {
    start: (id) => startContainer(docker, id),
    hide: async (id, service) => {
      const { eps } = await endpoints(id);
      aliases.set(id, eps);
      await remake(id, eps, (a) => a.filter((x) => x !== service));
    },
    reveal: (id) => remake(id, aliases.get(id) ?? [], (a) => a),
    retire,
    // Ctrl-C kills the call that creates new replicas beside the old ones (they are removed after), not
    // an in-place replacement (`up -d --force-recreate`): stopped halfway, that would leave none running.
    compose: (args) => runCompose(target, args, {}, attachedUp(args) ? o.signal : undefined),
    containers: async (service) => (await listProject(docker, target.project, service))
      .filter((c) => c.State === 'running' || c.State === 'restarting' || c.State === 'created')
      .map((c) => ({ id: c.Id, name: containerName(c) })),
    inspect: (id, now) => inspectContainer(docker, id, now),
    exec: (id, argv) => execIn(docker, id, argv).then((r) => ({ exitCode: r.exitCode, output: `${r.stdout}${r.stderr}` })),
    stop: async (id) => {
      await docker.getContainer(id).stop().catch((e: { statusCode?: number }) => {
        if (e.statusCode !== 304 && e.statusCode !== 404) throw e;
      });
    },
    remove: async (id) => {
      await docker.getContainer(id).remove({ force: true }).catch((e: { statusCode?: number }) => {
        if (e.statusCode !== 404) throw e;
      });
    },
    logs: (id, tail) => containerLogs(docker, id, tail),
    ...o,
  };
}
