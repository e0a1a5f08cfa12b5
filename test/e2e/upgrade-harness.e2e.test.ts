// The upgrade harness's load generator counts what it should: 2xx, non-2xx, refused connections, timeouts.
// (The upgrade stack itself is exercised by upgrade.e2e.test.ts; Compose's own upgrade by bench/upgrade.mjs.)
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad, startLoad } from './helpers/load.js';

describe('load generator', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    // /ok answers 200 with a version, /bad 503, /drop closes the connection without an answer.
    let n = 0;
    server = createServer((req, res) => {
      n++;
      if (req.url === '/bad/') return void res.writeHead(503).end('down');
      if (req.url === '/drop/') return void req.socket.destroy();
      if (req.url === '/mixed/' && n % 4 === 0) return void res.writeHead(500).end('oops');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ version: 'v9' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => server.close());

  it('sends at the rate for the duration and counts 2xx, non-2xx and connection errors', async () => {
    const t = Date.now();
    const ok = await runLoad({ port, path: '/mixed/', rate: 100, durationMs: 1000 });
    expect(Date.now() - t).toBeGreaterThanOrEqual(980);
    expect(ok.sent).toBe(100);
    expect(ok.ok + ok.non2xx).toBe(100);
    expect(ok.non2xx).toBe(25);
    expect(ok.versions).toEqual({ v9: 75 });
    expect(ok.failed).toBe(25);
    expect(ok.failures[0]).toMatchObject({ kind: 'status', detail: '500 oops' });

    const bad = await runLoad({ port, path: '/bad/', rate: 50, maxRequests: 10 });
    expect(bad).toMatchObject({ sent: 10, ok: 0, non2xx: 10, errors: 0, failed: 10 });
    const drop = await runLoad({ port, path: '/drop/', rate: 50, maxRequests: 10 });
    expect(drop).toMatchObject({ sent: 10, ok: 0, errors: 10, failed: 10 });
    expect(drop.failures[0]!.detail).toMatch(/^ECONNRESET/);
  });

  it('counts refused connections, and stop() ends a run early', async () => {
    const closed = await new Promise<number>((res) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    const run = startLoad({ port: closed, rate: 50, durationMs: 60_000 });
    await new Promise((r) => setTimeout(r, 300));
    const r = await run.stop();
    expect(r.sent).toBeGreaterThan(5);
    expect(r.sent).toBeLessThan(40);
    expect(r.errors).toBe(r.sent);
    expect(r.failures[0]!.detail).toMatch(/^ECONNREFUSED/);
  });
});

// The stack-level checks (v1 under load with 0 failures; Docker events in order) are part of
// upgrade.e2e.test.ts, and Compose's own upgrade under the same load is measured by bench/upgrade.mjs.
