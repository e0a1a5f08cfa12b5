// The gate in front of the Engine socket, against a stand-in upstream on a unix socket: reads pass at
// once, changes wait for open(), and fail() refuses them, held or new, so Compose creates nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engineSocket, startGate, type Gate } from '../../../src/up/compose-gate.js';

type Reply = { status: number; body: string };
const call = (socketPath: string, method: string, path: string): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
/** Whether the promise has settled after every pending I/O callback ran (no timers involved). */
const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(() => (done = true), () => (done = true));
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  return done;
};

describe('compose gate', () => {
  let dir: string;
  let upstream: Server;
  let seen: string[];
  let gate: Gate;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pc-gate-test-'));
    seen = [];
    upstream = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.end(`engine: ${req.method} ${req.url}`);
    });
    await new Promise<void>((r) => upstream.listen(join(dir, 'engine.sock'), r));
    gate = await startGate(join(dir, 'engine.sock'));
  });
  afterEach(async () => {
    gate.close();
    await new Promise((r) => upstream.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  const sock = () => engineSocket(gate.dockerHost)!;

  it('passes reads straight through', async () => {
    expect(await call(sock(), 'GET', '/v1.41/containers/json')).toEqual({ status: 200, body: 'engine: GET /v1.41/containers/json' });
  });

  it('holds a change until open(), then forwards it', async () => {
    const create = call(sock(), 'POST', '/v1.41/containers/create?name=x');
    expect(await settled(create)).toBe(false);
    expect(seen).toEqual([]);
    gate.open();
    expect(await create).toEqual({ status: 200, body: 'engine: POST /v1.41/containers/create?name=x' });
    expect(await call(sock(), 'DELETE', '/v1.41/containers/x')).toMatchObject({ status: 200 });
    expect(seen).toEqual(['POST /v1.41/containers/create?name=x', 'DELETE /v1.41/containers/x']);
  });

  it('refuses held and later changes after fail(), with the reason; nothing reaches the Engine', async () => {
    const held = call(sock(), 'POST', '/v1.41/containers/create?name=x');
    expect(await settled(held)).toBe(false);
    gate.fail('migrations exited 1');
    const reply = await held;
    expect(reply.status).toBe(409);
    expect(JSON.parse(reply.body)).toEqual({ message: 'phase-compose: not created: migrations exited 1' });
    expect((await call(sock(), 'POST', '/v1.41/networks/create')).status).toBe(409);
    expect(seen).toEqual([]);
  });
});

describe('engineSocket', () => {
  it.each([
    [undefined, '/var/run/docker.sock'],
    ['unix:///run/user/1000/docker.sock', '/run/user/1000/docker.sock'],
    ['tcp://10.0.0.1:2375', undefined],
    ['ssh://me@host', undefined],
  ])('%s → %s', (host, socket) => {
    expect(engineSocket(host)).toBe(socket);
  });
});
