// Edge: lets a Compose call do its slow part early and hold its changes until a gate opens.
// Compose talks to a local socket here; reads (GET/HEAD) pass straight through to the Engine, every
// change (create, stop, remove...) waits until `open()` — or is refused on `fail()`, so nothing is
// created at all. Compose v1 spends ~1 s loading and looking before its first change; this moves
// that cost off the critical path while Compose stays the one that creates the containers.
import { mkdtempSync, rmSync } from 'node:fs';
import { request, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Gate = {
  /** `DOCKER_HOST` value for the Compose process. */
  dockerHost: string;
  open(): void;
  fail(reason: string): void;
  close(): void;
};

/** The Engine's unix socket from DOCKER_HOST (default /var/run/docker.sock); undefined for tcp/ssh hosts. */
export function engineSocket(dockerHost: string | undefined): string | undefined {
  if (!dockerHost) return '/var/run/docker.sock';
  return dockerHost.startsWith('unix://') ? dockerHost.slice('unix://'.length) : undefined;
}

/** Starts a gate in front of the Engine socket `upstream`. */
export async function startGate(upstream: string): Promise<Gate> {
  const dir = mkdtempSync(join(tmpdir(), 'phase-compose-gate-'));
  const socket = join(dir, 'docker.sock');
  let state: { kind: 'closed' } | { kind: 'open' } | { kind: 'failed'; reason: string } = { kind: 'closed' };
  const held: Array<() => void> = [];
  const spliced = new Set<Socket>();
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const up = request({ socketPath: upstream, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `phase-compose gate: ${e.message}` }));
    });
    req.pipe(up);
  };
  const refuse = (res: ServerResponse, reason: string) => {
    res.writeHead(409, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: `phase-compose: not created: ${reason}` }));
  };
  const server = createServer((req, res) => {
    const read = req.method === 'GET' || req.method === 'HEAD';
    if (read || state.kind === 'open') return forward(req, res);
    if (state.kind === 'failed') return refuse(res, state.reason);
    held.push(() => (state.kind === 'failed' ? refuse(res, state.reason) : forward(req, res)));
  });
  // Compose v1 attaches to each container it creates (a hijacked connection): splice raw sockets.
  server.on('upgrade', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const up = connect(upstream, () => {
      spliced.add(up).add(client);
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) up.write(head);
      up.pipe(client).pipe(up);
    });
    const end = () => {
      up.destroy();
      client.destroy();
    };
    up.on('error', end);
    client.on('error', end);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socket, resolve));
  const flush = () => held.splice(0).forEach((f) => f());
  return {
    dockerHost: `unix://${socket}`,
    open: () => {
      state = { kind: 'open' };
      flush();
    },
    fail: (reason) => {
      state = { kind: 'failed', reason };
      flush();
    },
    close: () => {
      server.close();
      server.closeAllConnections?.();
      for (const x of spliced) x.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
