// The rolling replacement re-makes a running container's network endpoint to take it out of (or put it
// back into) its service's name. Here a real container opens TCP connections by name back to back while
// the edge hides and reveals it 10 times and retires it once: the aliases and the address must be as
// asked, and the container keeps running. The connections that failed meanwhile are counted and printed:
// between Docker's disconnect and connect the container has no interface on the network (ENETUNREACH),
// the known limit the README describes (pausing the container meanwhile was tried and dropped).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker, type DockerClient } from '../../src/docker/client.js';
import { L_ONEOFF, L_PROJECT, L_SERVICE } from '../../src/docker/labels.js';
import { systemClock } from '../../src/up/clock.js';
import { rollEdges } from '../../src/upgrade/observe.js';
import { STACK_LABEL } from './helpers/compose.js';
import { composeDown, uniqueProject, waitFor } from './helpers/docker.js';
import { run } from './helpers/run.js';
import { APP_IMAGES } from './helpers/upgrade.js';

const project = uniqueProject('endpoint');
const network = `${project}_default`;
let docker: DockerClient;

/** A listening server that accepts and closes: the "database". */
const SERVER = `
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5432)); s.listen(1024)
while True:
    c, _ = s.accept(); c.close()
`;
/** Connects by name back to back (a fresh connection each time, as Django with CONN_MAX_AGE=0 does); prints each failure. */
const CLIENT = `
import socket, time
n = 0
while True:
    try:
        socket.create_connection(("db", 5432), timeout=2).close()
        n += 1
        if n == 1: print("first connection", flush=True)
    except Exception as e:
        print(f"FAIL {time.time():.3f} {type(e).__name__}: {e}", flush=True)
`;

async function container(service: string, program: string): Promise<string> {
  const c = await docker.createContainer({
    Image: APP_IMAGES.v1, Entrypoint: ['python3', '-u', '-c', program], Cmd: [],
    Labels: { [L_PROJECT]: project, [L_SERVICE]: service, [L_ONEOFF]: 'False' },
    HostConfig: { NetworkMode: network },
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [service] } } },
  });
  await c.start();
  return c.id;
}
const logs = (id: string) => run('docker', ['logs', id]).stdout;
const inspect = async (id: string) => (await docker.getContainer(id).inspect()).NetworkSettings.Networks[network]!;

beforeAll(async () => {
  docker = await connectDocker();
  await docker.createNetwork({ Name: network, Labels: { [L_PROJECT]: project } });
});
afterAll(() => composeDown(project));

describe(`network endpoints re-made under a running container ${STACK_LABEL}`, () => {
  it('hide, reveal and retire set the name as asked, keep the address and the container running; the connections cut meanwhile are counted', async () => {
    await container('db', SERVER);
    const client = await container('app', CLIENT);
    await waitFor('the client connects', () => logs(client).includes('first connection'), 30_000, 100);
    const before = await inspect(client);
    const notes: string[] = [];
    const edges = rollEdges(docker, { cli: { argv: ['false'] }, project, file: '/nonexistent', cwd: '/' }, { clock: systemClock, signal: new AbortController().signal, note: (l) => notes.push(l) });
    const t0 = Date.now();
    for (let i = 0; i < 10; i++) {
      await edges.hide(client, 'app');
      expect((await inspect(client)).Aliases).not.toContain('app');
      await edges.reveal(client);
      expect((await inspect(client)).Aliases).toContain('app');
    }
    expect(await edges.retire(client, 'app')).toBeUndefined();
    const ms = Date.now() - t0;
    const after = await inspect(client);
    expect(after.Aliases).not.toContain('app');
    expect(after.IPAddress).toBe(before.IPAddress);
    await new Promise((r) => setTimeout(r, 300));
    expect((await docker.getContainer(client).inspect()).State.Status).toBe('running');
    const failed = logs(client).split('\n').filter((l) => l.startsWith('FAIL'));
    const kinds = [...new Set(failed.map((l) => l.split(' ').slice(2).join(' ')))];
    console.log([`21 endpoint re-makes in ${ms} ms: ${failed.length} connection(s) failed meanwhile${kinds.length ? ` (${kinds.join('; ')})` : ''}`, ...notes.map((n) => `  said: ${n}`)].join('\n'));
  });
});
