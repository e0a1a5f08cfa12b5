// Records the Docker Engine's events of one Compose project while a test acts, in order, with timestamps:
// container create/start/die/health_status/kill/stop/destroy (service label, image, exit code), and the
// project's network connect/disconnect of those containers, so a test can assert orders such as "the pre
// migration container died (0) before the first v2 backend started" or "post started after every v1
// replica was gone".
//
// A live subscription (`docker events --since <start>`, one JSON object a line): the Engine replays only its
// last 256 events to a late `--since` query, which a shared Engine overruns during a long test.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface StackEvent {
  /** nanoseconds since the epoch (the Engine's timeNano) */
  ns: bigint;
  /** milliseconds since the epoch */
  ms: number;
  type: 'container' | 'network';
  /** create, start, die, kill, stop, destroy, health_status, connect, disconnect, ... (exec_* are dropped) */
  action: string;
  /** health_status: healthy | unhealthy | starting */
  health?: string;
  /** the container's id (for network events: the container connected or disconnected) */
  container: string;
  /** Compose service label ('' when unknown, e.g. a network event of a container already destroyed) */
  service: string;
  /** replica number (com.docker.compose.container-number) */
  number?: number;
  /** container name */
  name: string;
  /** the image the container was created from, as named (e.g. phase-compose-fixture-app:v2) */
  image: string;
  /** die: the exit code */
  exitCode?: number;
  /** Compose one-off container (`run`) */
  oneoff: boolean;
}

export interface EventRecorder {
  /** events so far, in the Engine's order */
  events(): StackEvent[];
  /** the first event (already recorded or still to come) matching `pred` */
  waitFor(what: string, pred: (e: StackEvent) => boolean, timeoutMs?: number): Promise<StackEvent>;
  /** wait `settleMs` for events in transit, end the subscription, return every event */
  stop(settleMs?: number): Promise<StackEvent[]>;
}

type Raw = {
  Type?: string;
  Action?: string;
  timeNano?: number | string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
};

const MAX_EVENTS = 100_000;

/** Parses one line of `docker events --format '{{json .}}'`; undefined for what the recorder drops. */
export function parseEvent(line: string, containers: Map<string, { service: string; name: string; image: string; number?: number; oneoff: boolean }>): StackEvent | undefined {
  let raw: Raw;
  try {
    raw = JSON.parse(line) as Raw;
  } catch {
    return undefined;
  }
  const a = raw.Actor?.Attributes ?? {};
  const action = raw.Action ?? '';
  if (action.startsWith('exec_')) return undefined;
  // The CLI prints timeNano as a JSON number, which loses its last digits in a double: take it from the text.
  const nsText = /"timeNano":\s*(\d+)/.exec(line)?.[1];
  const ns = nsText ? BigInt(nsText) : BigInt(Math.round(Number(raw.timeNano ?? 0)));
  const ms = Number(ns / 1_000_000n);
  if (raw.Type === 'container') {
    const id = raw.Actor?.ID ?? '';
    const num = a['com.docker.compose.container-number'];
    const info = {
      service: a['com.docker.compose.service'] ?? '',
      name: a.name ?? '',
      image: a.image ?? '',
      ...(num ? { number: Number(num) } : {}),
      oneoff: a['com.docker.compose.oneoff'] === 'True',
    };
    containers.set(id, info);
    const [verb, health] = action.split(': ');
    return {
      ns, ms, type: 'container', action: verb!, ...(health ? { health } : {}), container: id, ...info,
      ...(verb === 'die' && a.exitCode !== undefined ? { exitCode: Number(a.exitCode) } : {}),
    };
  }
  if (raw.Type === 'network') {
    const id = a.container ?? '';
    const info = containers.get(id) ?? { service: '', name: '', image: '', oneoff: false };
    return { ns, ms, type: 'network', action, container: id, ...info };
  }
  return undefined;
}

/**
 * Starts recording the project's events from now; resolves once the subscription runs. `network` is the
 * project's network (e.g. `<project>_default`), whose connect/disconnect events are recorded too; Docker
 * filters network events by the network, not by the container's labels.
 */
export async function recordEvents(project: string, opts: { network?: string } = {}): Promise<EventRecorder> {
  const since = (Date.now() / 1000 - 1).toFixed(3);
  const sinceNs = BigInt(Date.now() - 1000) * 1_000_000n;
  const args = ['events', '--since', since, '--format', '{{json .}}',
    '--filter', 'type=container', '--filter', `label=com.docker.compose.project=${project}`];
  const child = spawn('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const net = opts.network
    ? spawn('docker', ['events', '--since', since, '--format', '{{json .}}', '--filter', 'type=network', '--filter', `network=${opts.network}`], { stdio: ['ignore', 'pipe', 'pipe'] })
    : undefined;
  const containers = new Map<string, { service: string; name: string; image: string; number?: number; oneoff: boolean }>();
  const list: StackEvent[] = [];
  const waiters: Array<{ pred: (e: StackEvent) => boolean; resolve: (e: StackEvent) => void }> = [];
  let stderr = '';
  const add = (e: StackEvent | undefined) => {
    if (!e || e.ns < sinceNs || list.length >= MAX_EVENTS) return;
    // Two streams: keep the list in the Engine's time order.
    let i = list.length;
    while (i > 0 && list[i - 1]!.ns > e.ns) i--;
    list.splice(i, 0, e);
    for (const w of [...waiters]) if (w.pred(e)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(e);
    }
  };
  for (const c of [child, net]) {
    if (!c) continue;
    createInterface({ input: c.stdout! }).on('line', (l) => add(parseEvent(l, containers)));
    c.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d.slice(0, 4096)));
  }
  // `docker events` prints nothing until an event comes: give it a moment to subscribe, and fail on a
  // CLI that exits at once (a bad filter, no Engine).
  await new Promise((r) => setTimeout(r, 300));
  for (const c of [child, net]) {
    if (c && c.exitCode !== null) throw new Error(`docker events exited (${c.exitCode}): ${stderr}`);
  }

  return {
    events: () => [...list],
    waitFor: (what, pred, timeoutMs = 120_000) => {
      const hit = list.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (e: StackEvent) => { clearTimeout(timer); resolve(e); } };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; events so far:\n${formatEvents(list)}`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    stop: async (settleMs = 1000) => {
      await new Promise((r) => setTimeout(r, settleMs));
      for (const c of [child, net]) c?.kill('SIGTERM');
      return [...list];
    },
  };
}

/** One event a line: "+12.345s backend#2 start phase-compose-fixture-app:v2 (ab12cd34ef56)". */
export function formatEvents(events: readonly StackEvent[]): string {
  const t0 = events[0]?.ns ?? 0n;
  return events.map((e) => `+${(Number(e.ns - t0) / 1e9).toFixed(3)}s ${formatEvent(e)}`).join('\n');
}

/** One event without its time: "backend#2 health_status: healthy phase-compose-fixture-app:v2 (0123456789ab)". */
export function formatEvent(e: StackEvent): string {
  const who = `${e.service || '?'}${e.number ? `#${e.number}` : ''}`;
  const what = e.type === 'network' ? `network ${e.action}` : e.action + (e.health ? `: ${e.health}` : '') + (e.exitCode !== undefined ? ` (${e.exitCode})` : '');
  return `${who} ${what} ${e.image} (${e.container.slice(0, 12)})`;
}

/** Index of the first event matching `pred`, or -1. */
export const firstIndex = (events: readonly StackEvent[], pred: (e: StackEvent) => boolean): number => events.findIndex(pred);

/** Index of the last event matching `pred`, or -1. */
export function lastIndex(events: readonly StackEvent[], pred: (e: StackEvent) => boolean): number {
  for (let i = events.length - 1; i >= 0; i--) if (pred(events[i]!)) return i;
  return -1;
}
