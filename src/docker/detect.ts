// Finds the Compose CLI (v2 plugin `docker compose`, else v1 `docker-compose`) and the Engine version.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export type ComposeCli = {
  /** argv prefix: ['docker', 'compose'] or ['docker-compose']. */
  argv: string[];
  version: string;
};

const run = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000 });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

/** Extracts `1.29.2` from `docker-compose version 1.29.2, build unknown` or `v2.24.1`. */
export function parseComposeVersion(out: string): string | undefined {
  return /v?(\d+\.\d+(\.\d+)?)/.exec(out)?.[1];
}

/** Detects the Compose CLI; undefined when neither is installed. */
export function detectCompose(): ComposeCli | undefined {
  const v2 = run('docker', ['compose', 'version', '--short']);
  const v2version = v2 && parseComposeVersion(v2);
  if (v2version) return { argv: ['docker', 'compose'], version: v2version };
  const v1 = run('docker-compose', ['version', '--short']);
  const v1version = v1 && parseComposeVersion(v1);
  if (v1version) return { argv: ['docker-compose'], version: v1version };
  return undefined;
}

/** The Engine's version, or undefined when no daemon answers. */
export function detectEngine(): string | undefined {
  const out = run('docker', ['version', '--format', '{{.Server.Version}}']);
  return out ? /^(\d+\.\d+(\.\d+)?)/.exec(out)?.[1] : undefined;
}

/** The directories where the docker CLI looks for plugins such as `docker-compose` (v2). */
export function pluginDirs(env: NodeJS.ProcessEnv, home: string): string[] {
  return [
    join(env.DOCKER_CONFIG ?? join(home, '.docker'), 'cli-plugins'),
    '/usr/local/lib/docker/cli-plugins',
    '/usr/local/libexec/docker/cli-plugins',
    '/usr/lib/docker/cli-plugins',
    '/usr/libexec/docker/cli-plugins',
  ];
}

/**
 * Which Compose to run, from the file system alone (no process started: `docker-compose version`
 * costs ~0.45 s here). The v2 plugin wins; else `docker-compose` on PATH. Pure given `isFile`.
 */
export function findComposeArgv(env: NodeJS.ProcessEnv, home: string, isFile: (p: string) => boolean): string[] | undefined {
  const onPath = (name: string) => (env.PATH ?? '').split(delimiter).filter(Boolean).some((d) => isFile(join(d, name)));
  if (onPath('docker') && pluginDirs(env, home).some((d) => isFile(join(d, 'docker-compose')))) return ['docker', 'compose'];
  if (onPath('docker-compose')) return ['docker-compose'];
  return undefined;
}

/** The Compose argv for running commands: found on disk, else by asking the CLIs. */
export function findCompose(): string[] | undefined {
  const isFile = (p: string) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  return findComposeArgv(process.env, homedir(), isFile) ?? detectCompose()?.argv;
}
