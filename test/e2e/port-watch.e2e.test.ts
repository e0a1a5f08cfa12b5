// `up` watches a starting service's health port from this host (a TCP connect every 50 ms) so that its
// healthcheck runs as soon as the port opens, not up to a probe interval later. Here the real edge
// watches the fixture PostgreSQL while it runs initdb (no TCP port open: its entrypoint keeps the init
// server on a private socket): the watch must not fire before the server listens, and the healthcheck
// `up` then runs must pass at once. A port nobody opens is watched until the signal, and no longer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker, type DockerClient } from '../../src/docker/client.js';
import { L_ONEOFF, L_PROJECT, L_SERVICE } from '../../src/docker/labels.js';
import { dockerEngine, watchPort } from '../../src/up/engine.js';
import { STACK_LABEL } from './helpers/compose.js';
import { composeDown, uniqueProject } from './helpers/docker.js';
import { run } from './helpers/run.js';

const project = uniqueProject('portwatch');
const network = `${project}_default`;
let docker: DockerClient;

beforeAll(async () => {
  docker = await connectDocker();
  await docker.createNetwork({ Name: network, Labels: { [L_PROJECT]: project } });
});
afterAll(() => composeDown(project));

async function postgres(): Promise<string> {
  const c = await docker.createContainer({
    Image: 'phase-compose-fixture-postgres:latest',
    Env: ['POSTGRES_PASSWORD=portwatch'],
    Labels: { [L_PROJECT]: project, [L_SERVICE]: 'postgres', [L_ONEOFF]: 'False' },
    HostConfig: { NetworkMode: network },
  });
  await c.start();
  return c.id;
}
const pgIsReady = (id: string) => run('docker', ['exec', id, 'pg_isready', '-h', '127.0.0.1']);

describe(`health-port watch from this host ${STACK_LABEL}`, () => {
  it('fires once PostgreSQL listens after initdb, not before; the healthcheck then passes at once', async () => {
    const id = await postgres();
    const t0 = Date.now();
    // Not ready while initdb runs: the watch has not fired yet when the first check fails.
    const early = pgIsReady(id);
    const open = await watchPort(docker, id, 5432, AbortSignal.timeout(60_000));
    const ms = Date.now() - t0;
    const after = pgIsReady(id);
    const logs = run('docker', ['logs', id]);
    console.log(`port 5432 open ${ms} ms after the start; pg_isready before: exit ${early.code}, after: exit ${after.code} (${after.stdout.trim()})`);
    expect(early.code, 'PostgreSQL answered before initdb could have finished: the test proves nothing').not.toBe(0);
    expect(open).toBe(true);
    expect(`${logs.stdout}${logs.stderr}`).toContain('fixture-postgres: init done');
    expect(after.code, after.stdout + after.stderr).toBe(0);
  });

  it('a port nobody opens: watched until the signal, then false at once', async () => {
    const id = await postgres();
    const stop = new AbortController();
    const t0 = Date.now();
    const watch = watchPort(docker, id, 5999, stop.signal);
    setTimeout(() => stop.abort(), 1500);
    expect(await watch).toBe(false);
    const ms = Date.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(1500);
    expect(ms).toBeLessThan(1500 + 400);
  });

  it('a remote Engine (DOCKER_HOST tcp:// or ssh://) has no watch: its container addresses are not this host\'s', () => {
    expect(dockerEngine(docker, undefined).watchPort).toBeTypeOf('function');
    expect(dockerEngine(docker, 'unix:///var/run/docker.sock').watchPort).toBeTypeOf('function');
    expect(dockerEngine(docker, 'tcp://10.0.0.1:2376').watchPort).toBeUndefined();
    expect(dockerEngine(docker, 'ssh://admin@host').watchPort).toBeUndefined();
  });
});
