// A bounded load generator for the upgrade tests and bench/upgrade.mjs: steady HTTP requests at a fixed
// rate to a port on 127.0.0.1 (the proxy's published loopback port), each on a new connection, counting
// every request's outcome: 2xx, other status, connection error, timeout, or not sent because too many
// were already in flight.
//
// Node's http with `agent: false` (a connection per request) rather than autocannon: each request has
// exactly one outcome with a timestamp (so failures line up with Docker events), the rate stays fixed
// while the server stalls (autocannon's connections wait for their responses, so a stall lowers the
// rate instead of counting failures), and it needs no dependency. The host is always 127.0.0.1: the
// generator cannot be pointed at another machine.
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mustRun, run, runAsync } from './run.js';

export interface LoadOptions {
  /** the TCP port on 127.0.0.1 */
  port: number;
  /** request path; default /load/ (the fixture app's endpoint that writes and reads the database) */
  path?: string;
  method?: 'GET' | 'POST';
  /** requests per second; default 50 */
  rate?: number;
  /** stop sending after this long (ms); default 10 000, at most 15 minutes */
  durationMs?: number;
  /** stop sending after this many requests; default unbounded (the duration bounds it) */
  maxRequests?: number;
  /** a request without a complete response after this long counts as a timeout; default 5 000 ms */
  timeoutMs?: number;
  /** at most this many requests in flight; one that would exceed it is not sent and counts as skipped; default 200 */
  maxInFlight?: number;
}

export interface LoadFailure {
  /** ms since the run started */
  atMs: number;
  /** wall clock (ms since the epoch), to compare with Docker events */
  at: number;
  /** wall clock when the request was sent (for a skipped one: when it was not) */
  sent: number;
  kind: 'status' | 'error' | 'timeout' | 'skipped';
  /** the status code, or the error's code and message */
  detail: string;
}

export interface LoadResult {
  sent: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  skipped: number;
  /** non2xx + errors + timeouts + skipped */
  failed: number;
  /** from the first request to the last answer */
  durationMs: number;
  /** achieved rate: sent per second of sending */
  rate: number;
  /** 2xx answers per `version` field of the JSON body (the fixture app's version), e.g. { v1: 480, v2: 20 } */
  versions: Record<string, number>;
  /** the first 200 failures, in order */
  failures: LoadFailure[];
  latencyMs: { p50: number; p99: number; max: number };
}

export interface LoadRun {
  /** counts so far (requests still in flight are not counted yet) */
  snapshot(): LoadResult;
  /** stop sending, wait for the requests in flight, return the counts */
  stop(): Promise<LoadResult>;
  /** settles when the duration or count is reached and every request has finished */
  done: Promise<LoadResult>;
}

const MAX_DURATION_MS = 15 * 60_000;
const MAX_FAILURES_KEPT = 200;
const MAX_LATENCIES_KEPT = 100_000;
const MAX_BODY = 64 * 1024;

/** Starts sending at once; see LoadOptions for the defaults. */
export function startLoad(opts: LoadOptions): LoadRun {
  const rate = opts.rate ?? 50;
  const durationMs = Math.min(opts.durationMs ?? 10_000, MAX_DURATION_MS);
  const maxRequests = opts.maxRequests ?? Number.POSITIVE_INFINITY;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const maxInFlight = opts.maxInFlight ?? 200;
  const path = opts.path ?? '/load/';
  const method = opts.method ?? 'GET';
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) throw new Error(`startLoad: bad port ${opts.port}`);
  if (!(rate > 0 && rate <= 2000)) throw new Error(`startLoad: rate must be in (0, 2000] req/s, not ${rate}`);
  if (!path.startsWith('/')) throw new Error(`startLoad: path must start with /, not ${path}`);

  const t0 = Date.now();
  const c = { sent: 0, ok: 0, non2xx: 0, errors: 0, timeouts: 0, skipped: 0 };
  const versions: Record<string, number> = {};
  const failures: LoadFailure[] = [];
  const latencies: number[] = [];
  let inFlight = 0;
  let lastEnd = t0;
  let stopped = false;
  let sendingEnded: number | undefined;
  let finish: (r: LoadResult) => void = () => {};
  const done = new Promise<LoadResult>((res) => (finish = res));

  const fail = (kind: LoadFailure['kind'], detail: string, sent?: number) => {
    const now = Date.now();
    if (failures.length < MAX_FAILURES_KEPT) failures.push({ atMs: now - t0, at: now, sent: sent ?? now, kind, detail });
  };
  const snapshot = (): LoadResult => {
    const failed = c.non2xx + c.errors + c.timeouts + c.skipped;
    const sorted = [...latencies].sort((a, b) => a - b);
    const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0);
    const sending = Math.max(1, (sendingEnded ?? Date.now()) - t0);
    return {
      ...c, failed, durationMs: lastEnd - t0, rate: Math.round((c.sent * 10_000) / sending) / 10,
      versions: { ...versions }, failures: [...failures],
      latencyMs: { p50: pct(50), p99: pct(99), max: sorted.length ? sorted[sorted.length - 1]! : 0 },
    };
  };
  const maybeFinish = () => {
    if (stopped && inFlight === 0) finish(snapshot());
  };

  const one = () => {
    c.sent++;
    if (inFlight >= maxInFlight) {
      c.skipped++;
      fail('skipped', `${inFlight} requests in flight`);
      return;
    }
    inFlight++;
    const started = Date.now();
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      inFlight--;
      lastEnd = Date.now();
      outcome();
      maybeFinish();
    };
    const req = request({ host: '127.0.0.1', port: opts.port, path, method, agent: false, headers: { Connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < MAX_BODY) body += d;
      });
      res.on('error', (e: NodeJS.ErrnoException) => settle(() => {
        c.errors++;
        fail('error', `${e.code ?? e.name}: ${e.message}`, started);
      }));
      res.on('end', () => settle(() => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          c.ok++;
          if (latencies.length < MAX_LATENCIES_KEPT) latencies.push(Date.now() - started);
          let v = '?';
          try {
            v = String((JSON.parse(body) as { version?: unknown }).version ?? '?');
          } catch {
            // not JSON: counted as '?'
          }
          versions[v] = (versions[v] ?? 0) + 1;
        } else {
          c.non2xx++;
          fail('status', `${status} ${body.slice(0, 300).replace(/\s+/g, ' ')}`, started);
        }
      }));
    });
    req.setTimeout(timeoutMs, () => {
      settle(() => {
        c.timeouts++;
        fail('timeout', `no complete answer in ${timeoutMs} ms`, started);
      });
      req.destroy();
    });
    req.on('error', (e: NodeJS.ErrnoException) => settle(() => {
      c.errors++;
      fail('error', `${e.code ?? e.name}: ${e.message}`, started);
    }));
    req.end();
  };

  // Request i (from 0) goes out at i / rate seconds; a 10 ms tick sends what is due by now, so the rate
  // holds however the timers drift.
  const total = Math.min(maxRequests, Math.max(1, Math.floor((durationMs * rate) / 1000)));
  const tick = setInterval(() => {
    const elapsed = Date.now() - t0;
    const due = Math.min(total, Math.floor((elapsed * rate) / 1000) + 1);
    while (!stopped && c.sent < due) one();
    if (c.sent >= total) stop();
  }, 10);
  const stop = () => {
    if (!stopped) {
      stopped = true;
      sendingEnded = Date.now();
      clearInterval(tick);
    }
    maybeFinish();
    return done;
  };
  return { snapshot, stop, done };
}

/** startLoad() and wait until it is done. */
export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  return startLoad(opts).done;
}

/** One line for a report: "sent 500 (50.0/s): 2xx 498, non-2xx 2, errors 0, timeouts 0, skipped 0; v1 300, v2 198". */
export function formatLoad(r: LoadResult): string {
  const versions = Object.entries(r.versions).sort().map(([v, n]) => `${v} ${n}`).join(', ');
  return `sent ${r.sent} (${r.rate}/s): 2xx ${r.ok}, non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts}, skipped ${r.skipped}` +
    (versions ? `; ${versions}` : '') + `; latency p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms`;
}

// ---------------------------------------------------------------------------------------------------
// The client inside the stack's network: test/fixtures/app/scripts/poll.py in a container of the app
// image on the project's network, calling the backend by its service name (as Phase's frontend does)
// every 100 ms, one line per request. Python's socket.create_connection tries every address the name
// resolves to, so a refused connection to one replica falls through to the next, as real clients do.

export interface PollerOptions {
  project: string;
  /** the Docker network to join (see projectNetwork()) */
  network: string;
  /** any image with /app/scripts/poll.py; default phase-compose-fixture-app:v1 */
  image?: string;
  /** default http://backend:8000/load/ */
  url?: string;
  intervalMs?: number;
  /**
   * a request without an answer after this long is a failure; default 5 000 ms, as for the load through
   * nginx, so both clients count the same thing as a failure (it was 2 000: on this 2-core machine,
   * while two gunicorn replicas booted, one request by name went unanswered for 2 s once, when the
   * slowest answer through nginx took 1.5 s)
   */
  timeoutMs?: number;
  /** the poller stops by itself after this long; default 900 s */
  maxDurationS?: number;
}

export interface PollLine {
  seq: number;
  /** ms since the poller started */
  atMs: number;
  ok: boolean;
  /** HTTP status, or the Python exception's class (ConnectionRefusedError, TimeoutError, gaierror, ...) */
  status: string;
  /** the address that answered ('-' when none did) */
  peer: string;
  ms: number;
  /** the app's version for an ok line, else the reason */
  detail: string;
}

export interface PollResult {
  sent: number;
  ok: number;
  fail: number;
  /** the first 200 failed requests */
  failures: PollLine[];
  /** requests per answering address */
  peers: Record<string, number>;
  /** ok answers per app version */
  versions: Record<string, number>;
  /** poll.py's own summary line, when it got to print it */
  summary?: string;
}

export interface Poller {
  container: string;
  /** Wall-clock ms at which its first request was sent (give or take the 0.1 s this side polls its log): a line's atMs counts from it. */
  t0: number;
  /** counts so far (from the container's log) */
  snapshot(): PollResult;
  /** SIGTERM the poller, read its log, remove the container, return the counts */
  stop(): Promise<PollResult>;
}

export const POLLER_LABEL = 'dev.phase-compose.e2e-poller';

/** One of poll.py's request lines, or undefined for any other line. */
function parsePollLine(line: string): PollLine | undefined {
  const m = /^poll (\d+) (\d+) (ok|fail) (\S+) (\S+) (\d+) ?(.*)$/.exec(line);
  return m ? { seq: Number(m[1]), atMs: Number(m[2]), ok: m[3] === 'ok', status: m[4]!, peer: m[5]!, ms: Number(m[6]), detail: m[7] ?? '' } : undefined;
}

/** poll.py's request lines, in order. */
function parsePollLines(text: string): PollLine[] {
  return text.split('\n').flatMap((line) => parsePollLine(line) ?? []);
}

/** Parses poll.py's output (see its docstring). */
export function parsePollLog(text: string): PollResult {
  const r: PollResult = { sent: 0, ok: 0, fail: 0, failures: [], peers: {}, versions: {} };
  for (const line of text.split('\n')) {
    const p = parsePollLine(line);
    if (p) {
      r.sent++;
      if (p.ok) {
        r.ok++;
        r.versions[p.detail] = (r.versions[p.detail] ?? 0) + 1;
      } else {
        r.fail++;
        if (r.failures.length < 200) r.failures.push(p);
      }
      r.peers[p.peer] = (r.peers[p.peer] ?? 0) + 1;
    } else if (line.startsWith('poll-summary ')) {
      r.summary = line;
    }
  }
  return r;
}

/** Starts the poller and resolves once its first request has been answered (or failed). */
export async function startPoller(opts: PollerOptions): Promise<Poller> {
  const name = `${opts.project}-poller-${randomBytes(3).toString('hex')}`;
  const argv = [
    'run', '-d', '--name', name, '--label', `${POLLER_LABEL}=${opts.project}`, '--network', opts.network,
    opts.image ?? 'phase-compose-fixture-app:v1',
    'python', '/app/scripts/poll.py', '--url', opts.url ?? 'http://backend:8000/load/',
    '--interval', String((opts.intervalMs ?? 100) / 1000), '--timeout', String((opts.timeoutMs ?? 5000) / 1000),
    '--duration', String(opts.maxDurationS ?? 900),
  ];
  mustRun('docker', argv);
  const logs = () => {
    const r = run('docker', ['logs', name]);
    return r.stdout + r.stderr;
  };
  const deadline = Date.now() + 30_000;
  let first: PollLine | undefined;
  while (!(first = parsePollLines(logs())[0])) {
    if (Date.now() > deadline) throw new Error(`poller ${name} printed nothing in 30 s:\n${logs()}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  const t0 = Date.now() - first.atMs - first.ms;
  return {
    container: name,
    t0,
    snapshot: () => parsePollLog(logs()),
    stop: async () => {
      await runAsync('docker', ['stop', '-t', '5', name]);
      const out = parsePollLog(logs());
      run('docker', ['rm', '-f', name]);
      return out;
    },
  };
}

/** Removes the project's pollers (for afterAll; never throws). */
export function removePollers(project: string): void {
  const ids = run('docker', ['ps', '-aq', '--filter', `label=${POLLER_LABEL}=${project}`]).stdout.split('\n').filter(Boolean);
  if (ids.length) run('docker', ['rm', '-f', ...ids]);
}

/** One line for a report: "sent 100: ok 100, fail 0; v1 100; 2 addresses". */
export function formatPoll(r: PollResult): string {
  const versions = Object.entries(r.versions).sort().map(([v, n]) => `${v} ${n}`).join(', ');
  return `sent ${r.sent}: ok ${r.ok}, fail ${r.fail}` + (versions ? `; ${versions}` : '') +
    `; answered by ${Object.keys(r.peers).filter((p) => p !== '-').length} addresses`;
}
