// Edges of an upgrade: what runs (Engine API), what Compose would create now (`compose config`,
// interpolated with the upgrade's variables), and the rolling replacement's Docker calls.
import { parse } from 'yaml';
import type { DockerClient } from '../docker/client.js';
import { runCompose, type ComposeTarget } from '../docker/compose-cli.js';
import { listProject } from '../docker/containers.js';
import { execIn } from '../docker/exec.js';
import { L_SERVICE } from '../docker/labels.js';
import type { Clock } from '../up/clock.js';
import { containerLogs, inspectContainer, startContainer } from '../up/engine.js';
import { PhaseComposeError } from '../util/errors.js';
import type { RunningContainer, Wanted } from './plan.js';
import type { RollEdges } from './rolling.js';

/** The running containers of the project's services (one-off and stopped ones left out), with their config. */
export async function runningContainers(docker: DockerClient, project: string): Promise<RunningContainer[]> {
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
    });
  }
  return out;
}

type ConfigService = { image?: string; environment?: Record<string, string | number | boolean | null> | string[]; command?: string[] | string | null; entrypoint?: string[] | string | null };

const argvOf = (v: string[] | string | null | undefined): string[] | undefined => (Array.isArray(v) ? v.map(String) : undefined);
const envOf = (e: ConfigService['environment']): Record<string, string> => {
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
    out[name] = { image: s.image ?? '', environment: envOf(s.environment), ...(command ? { command } : {}), ...(entrypoint ? { entrypoint } : {}) };
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
  const aliases = new Map<string, Array<{ network: string; aliases: string[] }>>();
  const remake = async (id: string, keep: (network: string, a: string[]) => string[]) => {
    for (const { network, aliases: a } of aliases.get(id) ?? []) {
      const n = docker.getNetwork(network);
      await n.disconnect({ Container: id, Force: true });
      await n.connect({ Container: id, EndpointConfig: { Aliases: keep(network, a) } });
    }
  };
  return {
    start: (id) => startContainer(docker, id),
    hide: async (id, service) => {
      const i = await docker.getContainer(id).inspect();
      const nets = Object.entries(i.NetworkSettings.Networks ?? {}).map(([network, ep]) => ({ network, aliases: ep.Aliases ?? [] }));
      aliases.set(id, nets);
      await remake(id, (_, a) => a.filter((x) => x !== service));
    },
    reveal: (id) => remake(id, (_, a) => a),
    compose: (args) => runCompose(target, args),
    containers: async (service) => (await listProject(docker, target.project, service))
      .filter((c) => c.State === 'running' || c.State === 'restarting' || c.State === 'created')
      .map((c) => ({ id: c.Id, name: (c.Names[0] ?? c.Id).replace(/^\//, '') })),
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
