// Healthcheck shorthands (http / tcp / command) → Compose healthcheck, with timing tuned for a fast start.
import type { NormalisedHealthcheck, Timing } from '../spec/normalise.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import { composeEscape, shQuote } from '../util/shell.js';
import type { Features } from '../spec/target.js';

export type ComposeHealthcheck = {
  test?: string[];
  disable?: boolean;
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
  start_interval?: string;
};

/**
 * Probe an HTTP URL with whatever the image has: curl, wget, python3 or node. The script is fixed;
 * only the quoted URL varies.
 */
export function httpProbe(url: string): string {
  const u = shQuote(url);
  return [
    `if command -v curl >/dev/null 2>&1; then exec curl -fsS -o /dev/null --max-time 4 ${u}; fi`,
    `if command -v wget >/dev/null 2>&1; then exec wget -q -O /dev/null -T 4 ${u}; fi`,
    `if command -v python3 >/dev/null 2>&1; then exec python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=4)' ${u}; fi`,
    `exec node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' ${u}`,
  ].join('; ');
}

/** Probe a TCP port with nc, bash's /dev/tcp or python3. */
export function tcpProbe(host: string, port: number): string {
  const h = shQuote(host);
  return [
    `if command -v nc >/dev/null 2>&1; then exec nc -z -w 2 ${h} ${port}; fi`,
    `if command -v bash >/dev/null 2>&1; then exec bash -c 'exec 3<>/dev/tcp/$1/$2' _ ${h} ${port}; fi`,
    `exec python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)' ${h} ${port}`,
  ].join('; ');
}

/** The timing normaliseSpec filled (its defaults: a fast start); start_interval only where the target reads it. */
export function timing(t: Timing, f: Features, warn: (msg: string) => void, where: string): Omit<ComposeHealthcheck, 'test' | 'disable'> {
  const d = (s: string) => formatDuration(parseDuration(s));
  const out: Omit<ComposeHealthcheck, 'test' | 'disable'> = { interval: d(t.interval), timeout: d(t.timeout), retries: t.retries, start_period: d(t.start_period) };
  if (f.startInterval && t.start_interval) out.start_interval = d(t.start_interval);
  else if (t.start_interval) warn(`${where}.start_interval left out: it needs Compose >= 2.20.2 and Engine >= 25 (target: Compose ${f.compose}, Engine ${f.engine}); using a short interval instead`);
  return out;
}

/** Builds the Compose healthcheck for a spec healthcheck (undefined when none is given). */
export function composeHealthcheck(hc: NormalisedHealthcheck | undefined, f: Features, warn: (msg: string) => void, where: string): ComposeHealthcheck | undefined {
  if (!hc) return undefined;
  if (hc.disable) return { disable: true };
  let test: string[];
  if (hc.http) {
    const url = `http://${hc.http.host}:${hc.http.port}${hc.http.path}`;
    test = ['CMD-SHELL', composeEscape(httpProbe(url))];
  } else if (hc.tcp) {
    test = ['CMD-SHELL', composeEscape(tcpProbe(hc.tcp.host, hc.tcp.port))];
  } else if (hc.command) {
    test = ['CMD', ...hc.command];
  } else {
    return undefined;
  }
  return { test, ...timing(hc, f, warn, where) };
}
