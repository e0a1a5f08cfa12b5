// The upgrade fixture stack (test/fixtures/upgrade): the fixture app at v1 or v2 with 2 backend replicas
// behind the nginx fixture, published on a free loopback port. Copied to a temp dir and generated with the
// real CLI, like the fixture stack (stack.ts); the version lives in the copy's .env (FIXTURE_APP_VERSION),
// which Compose reads, so switching versions changes no generated file.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { run } from './run.js';
import { CLI, REPO_ROOT, generateFixtureStack, type GeneratedStack } from './stack.js';

export const FIXTURE_UPGRADE_DIR = join(REPO_ROOT, 'test/fixtures/upgrade');
export type AppVersion = 'v1' | 'v2';
export const APP_IMAGES = { v1: 'phase-compose-fixture-app:v1', v2: 'phase-compose-fixture-app:v2' } as const;
export const NGINX_IMAGE = 'phase-compose-fixture-nginx:latest';
/** The host port written in the fixture spec, replaced by a free one. */
const SPEC_PORT = '127.0.0.1:18080:80';

export interface UpgradeStack extends GeneratedStack {
  /** the spec's path (pass to `node dist/cli.js -f`) */
  spec: string;
  /** the proxy's published port on 127.0.0.1 */
  port: number;
  /** the version in the copy's .env */
  version(): AppVersion;
  /** set FIXTURE_APP_VERSION in the copy's .env (the next up/upgrade/compose call goes there) */
  setVersion(v: AppVersion): void;
}

/** A TCP port free on 127.0.0.1 right now (the kernel's choice). Another process may take it before use. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Copies and generates the upgrade stack in a temp dir with a unique project name, at `version` (default v1). */
export async function generateUpgradeStack(label: string, version: AppVersion = 'v1'): Promise<UpgradeStack> {
  const port = await freeLoopbackPort();
  const edit = (spec: string) => {
    if (!spec.includes(`"${SPEC_PORT}"`)) throw new Error(`the upgrade fixture spec no longer publishes "${SPEC_PORT}"`);
    return spec.replace(`"${SPEC_PORT}"`, `"127.0.0.1:${port}:80"`);
  };
  const stack = generateFixtureStack(label, { dir: FIXTURE_UPGRADE_DIR, edit });
  const envFile = join(stack.dir, '.env');
  const setVersion = (v: AppVersion) => {
    const text = readFileSync(envFile, 'utf8');
    if (!/^FIXTURE_APP_VERSION=.*$/m.test(text)) throw new Error(`${envFile} has no FIXTURE_APP_VERSION line`);
    writeFileSync(envFile, text.replace(/^FIXTURE_APP_VERSION=.*$/m, `FIXTURE_APP_VERSION=${v}`));
  };
  setVersion(version);
  return {
    ...stack,
    spec: join(stack.dir, 'phase-compose.yaml'),
    port,
    version: () => (/^FIXTURE_APP_VERSION=(v1|v2)$/m.exec(readFileSync(envFile, 'utf8'))?.[1] ?? 'v1') as AppVersion,
    setVersion,
  };
}

/** argv for `node dist/cli.js -f <spec> -p <project> <args>` on the stack. */
export const cliArgv = (stack: UpgradeStack, ...args: string[]): string[] => [CLI, '-f', stack.spec, '-p', stack.project, ...args];

/** The network the project's containers share (Compose's `<project>_default` unless the spec names one). */
export function projectNetwork(project: string): string {
  const r = run('docker', ['network', 'ls', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Name}}']);
  const names = r.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  if (names.length !== 1) throw new Error(`expected one network of project ${project}, found ${JSON.stringify(names)} ${r.stderr}`);
  return names[0]!;
}

/** Running containers of a service: id, image name and health, in replica order. */
export function serviceContainers(project: string, service: string): Array<{ id: string; image: string; health: string; number: number }> {
  const ids = run('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`])
    .stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  if (!ids.length) return [];
  // JSON, not a -f template: a container without a healthcheck has no State.Health, and the template fails on it.
  const r = run('docker', ['inspect', ...ids]);
  type Inspect = { Id: string; Config: { Image: string; Labels: Record<string, string> }; State: { Health?: { Status: string } } };
  return (JSON.parse(r.stdout || '[]') as Inspect[]).map((i) => ({
    id: i.Id,
    image: i.Config.Image,
    health: i.State.Health?.Status ?? 'none',
    number: Number(i.Config.Labels['com.docker.compose.container-number']),
  })).sort((a, b) => a.number - b.number);
}

/**
 * The environment for a CLI or Compose call on the stack: this process's, without any FIXTURE_* variable
 * (a fault switch or version left in the caller's shell would override the stack's .env), plus `extra`.
 */
export function stackEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FIXTURE_')));
  return { ...env, ...extra };
}
