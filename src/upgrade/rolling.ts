// Rolling replacement of long-running services: new containers start beside the old ones (Compose
// creates them: `up --no-start --no-deps --no-recreate --scale S=old+new`), each new one must turn
// healthy (or, without a healthcheck, stay running) while the service's name does not yet answer with
// it (its network endpoint is made without the service alias, so nobody but its healthcheck reaches it),
// then it joins the name and the old ones leave it (their endpoints re-made without the service alias,
// at the same address, so requests in flight go on), and only then are the old ones drained: stopped
// gracefully within their grace period (requests in flight finish), then removed, while the next service
// is replaced. A new container that crashes or never turns healthy is removed, and the old ones are
// never touched. Waits only on the clock it is given; every edge is passed in.
import type { ComposeResult } from '../docker/compose-cli.js';
import { healthcheckArgv } from '../docker/waiter.js';
import { within, type Clock } from '../up/clock.js';
import type { Inspected } from '../up/engine.js';
import { FACTS_LOOK_MS, OUTPUT_UNANSWERED } from '../up/failure-facts.js';
import type { FailureFacts } from '../up/report.js';
import type { Replacement, RunningContainer } from './plan.js';

export type RollEdges = {
  compose(args: string[]): Promise<ComposeResult>;
  /** Running (or restarting) containers of a service. */
  containers(service: string): Promise<Array<Pick<RunningContainer, 'id' | 'name'>>>;
  inspect(id: string, now: number): Promise<Inspected>;
  exec(id: string, argv: string[]): Promise<{ exitCode: number; output: string }>;
  /** Stops gracefully: SIGTERM, then SIGKILL at the end of the container's grace period. */
  stop(id: string): Promise<void>;
  start(id: string): Promise<void>;
  /** Re-makes the container's network endpoints without the service's name (before it starts: nothing is cut). */
  hide(id: string, service: string): Promise<void>;
  /** Re-makes them with every alias Compose gave (it served only its healthcheck while hidden). */
  reveal(id: string): Promise<void>;
  /**
   * Takes an old container out of the service name's DNS answers while it keeps serving at its address
   * (its endpoints re-made without the service alias, only where Docker gives the same address back, so
   * requests in flight continue). Returns why it did not, if it did not: it then leaves the name only
   * when it stops.
   */
  retire(id: string, service: string): Promise<string | undefined>;
  remove(id: string): Promise<void>;
  logs(id: string, tail: number): Promise<string>;
  clock: Clock;
  signal: AbortSignal;
  note(line: string): void;
};

export type StepTiming = { service: string; ms: number; old: string[]; new: string[] };

export type RollResult =
  /** `interrupted`: every service was replaced, but Ctrl-C (or SIGTERM) came meanwhile (during the last drain). */
  | { status: 'done'; steps: StepTiming[]; interrupted?: true; /** Old containers the Engine failed to stop or remove. */ leftovers?: string[] }
  /** `what`: the failure in words, also when no container is to blame (Compose failed: then there are no `failure` facts). */
  | { status: 'failed' | 'timeout' | 'interrupted'; steps: StepTiming[]; service: string; what: string; failure?: FailureFacts; removed: string[]; oldKept: boolean };

/** How often new containers are looked at (and probed) while they start. */
export const ROLL_POLL_MS = 500;
/** How long the new containers answer to the name before the old ones drain (nginx's resolver caches 1 s). */
export const DNS_SETTLE_MS = 2000;
/** A service without a healthcheck is ready once it has run this long without exiting or restarting. */
export const STABLE_MS = 3000;

/** A probe's bound when the healthcheck gives no timeout (Docker's own default is 30 s). */
export const PROBE_TIMEOUT_MS = 30_000;

/**
 * One run of the healthcheck by exec, bounded by `ms` (its timeout, and the deadline) and by Ctrl-C; an
 * overrun finishes in the background. Until 2026-11-28 it had no bound: a healthcheck without its own
 * time limit against a replica that accepts and never answers held the upgrade past --timeout, deaf to
 * Ctrl-C.
 */
async function boundedProbe(e: RollEdges, id: string, argv: string[], ms: number): Promise<{ exitCode: number; output: string; overran?: Promise<unknown> }> {
  if (e.signal.aborted) return { exitCode: -1, output: 'interrupted' };
  const timer = new AbortController();
  const stop = () => timer.abort();
  e.signal.addEventListener('abort', stop, { once: true });
  const run = e.exec(id, argv).catch((err: Error) => ({ exitCode: -1, output: err.message }));
  const bound = e.clock.sleep(ms, timer.signal).then(() => ({ exitCode: -1, output: e.signal.aborted ? 'interrupted' : `timed out after ${ms}ms`, overran: run }));
  try {
    return await Promise.race([run, bound]);
  } finally {
    e.signal.removeEventListener('abort', stop);
    timer.abort();
  }
}

type Wait = { ok: true } | { ok: false; status: 'failed' | 'timeout' | 'interrupted'; id?: string; what: string; exitCode?: number; probeOutput?: string; health?: Inspected };

/** Waits until every container in `ids` is ready, or the first one fails. */
async function waitReady(e: RollEdges, ids: string[], readyWhen: Replacement['readyWhen'], deadline: number): Promise<Wait> {
  const runningSince = new Map<string, number>();
  const lastProbe = new Map<string, string>();
  const ready = new Set<string>();
  // A probe whose exec overran: the API cannot stop it, so the container gets no other until it ended
  // (before 2026-11-29 one more every poll, piling up in a replica that accepts and never answers).
  const overran = new Set<string>();
  for (;;) {
    if (e.signal.aborted) return { ok: false, status: 'interrupted', what: 'interrupted' };
    const now = e.clock.now();
    for (const id of ids) {
      if (e.signal.aborted) return { ok: false, status: 'interrupted', what: 'interrupted' };
      if (ready.has(id)) continue;
      const i = await e.inspect(id, now).catch(() => undefined);
      if (!i || i.obs.status === 'exited' || i.obs.status === 'removed' || i.obs.status === 'other') {
        return { ok: false, status: 'failed', id, what: i?.obs.status === 'exited' ? `exited with code ${i.obs.exitCode}` : 'was removed', ...(i?.obs.exitCode !== undefined ? { exitCode: i.obs.exitCode } : {}), ...(i ? { health: i } : {}) };
      }
      // It exited and its restart policy starts it again: a crash, whatever comes next. Between two polls it
      // may be back to running, so its restart count says so too.
      if (i.obs.status === 'restarting' || (i.restarts ?? 0) > 0) {
        return { ok: false, status: 'failed', id, what: `crashed (its restart policy has restarted it${i.restarts ? ` ${i.restarts} time(s)` : ''})`, health: i };
      }
      if (readyWhen === 'running') {
        const since = runningSince.get(id) ?? now;
        runningSince.set(id, since);
        if (now - since >= STABLE_MS) ready.add(id);
        continue;
      }
      if (i.obs.health === 'unhealthy') return { ok: false, status: 'failed', id, what: 'turned unhealthy', health: i };
      if (i.obs.health === 'healthy') {
        ready.add(id);
        continue;
      }
      // Our own run of its healthcheck: Docker's interval can be long; the container is the same either way.
      const argv = healthcheckArgv(i.healthTest);
      if (argv && i.obs.status === 'running' && !overran.has(id)) {
        const r = await boundedProbe(e, id, argv, Math.min(i.healthTimeoutMs ?? PROBE_TIMEOUT_MS, Math.max(0, deadline - now)));
        lastProbe.set(id, r.output);
        if (r.exitCode === 0) ready.add(id);
        if (r.overran) {
          overran.add(id);
          void r.overran.finally(() => overran.delete(id));
        }
      }
    }
    if (ready.size === ids.length) return { ok: true };
    if (e.clock.now() >= deadline) {
      const id = ids.find((x) => !ready.has(x))!;
      // Its fresh health log is read by facts(), with its output.
      return { ok: false, status: 'timeout', id, what: `not ${readyWhen} by the deadline`, probeOutput: lastProbe.get(id) };
    }
    await e.clock.sleep(Math.min(ROLL_POLL_MS, Math.max(0, deadline - e.clock.now())), e.signal);
  }
}

async function facts(e: RollEdges, service: string, w: Extract<Wait, { ok: false }>): Promise<FailureFacts | undefined> {
  if (!w.id) return undefined;
  const id = w.id;
  // Both at once, FACTS_LOOK_MS at most: a hung Engine must not hang the failure's report (until
  // 2026-11-29 it did). A health log not read in time is left out; output not read is said so.
  const [logs, health] = await Promise.all([
    within(e.clock, FACTS_LOOK_MS, e.logs(id, 50).catch(() => '')),
    w.health ?? within(e.clock, FACTS_LOOK_MS, e.inspect(id, e.clock.now()).catch(() => undefined)),
  ]);
  return {
    service,
    container: health?.obs.name ?? id.slice(0, 12),
    what: w.what,
    ...(w.exitCode !== undefined ? { exitCode: w.exitCode } : {}),
    ...(health?.obs.healthLog ? { healthLog: health.obs.healthLog } : {}),
    ...(w.probeOutput !== undefined ? { probeOutput: w.probeOutput } : {}),
    logs: logs ?? OUTPUT_UNANSWERED,
    blocked: [],
    kept: false,
  };
}

/**
 * Replaces each service in turn; stops at the first failure with the old containers of that service
 * serving. Once a service's new containers are ready (and the old ones have left its name), the next
 * service is replaced while the old ones wait for DNS caches and drain (graceful stop, then removal):
 * the services are independent, and a drain is mostly waiting. Every drain has ended before this
 * returns, whatever the outcome, so the caller's report (and the post phase) sees no old container left.
 */
export async function rollingReplace(e: RollEdges, replacements: Replacement[], deadline: number): Promise<RollResult> {
  const steps: StepTiming[] = [];
  const leftovers: string[] = [];
  const drains: Array<Promise<void>> = [];
  const drained = async () => {
    await Promise.all(drains);
    steps.sort((a, b) => replacements.findIndex((r) => r.service === a.service) - replacements.findIndex((r) => r.service === b.service));
  };
  for (const r of replacements) {
    const t0 = e.clock.now();
    const oldIds = new Set(r.old.map((c) => c.id));
    e.note(r.inPlace
      ? `${r.service}: replacing in place (a fixed host port is held by one container at a time)`
      : `${r.service}: starting ${r.replicas} new container(s) beside ${r.old.length} old`);
    const scale = r.inPlace ? r.replicas : r.old.length + r.replicas;
    const res = await e.compose(['up', r.inPlace ? '-d' : '--no-start', '--no-deps', r.inPlace ? '--force-recreate' : '--no-recreate', '--scale', `${r.service}=${scale}`, r.service]);
    const fresh = (await e.containers(r.service)).filter((c) => !oldIds.has(c.id)).map((c) => c.id);
    const hidden = !r.inPlace && r.readyWhen === 'healthy';
    const fail = async (w: Extract<Wait, { ok: false }>): Promise<RollResult> => {
      const failure = await facts(e, r.service, w);
      if (!r.inPlace) for (const id of fresh) await e.remove(id).catch(() => {});
      await drained();
      // After Ctrl-C whatever failed is the interruption. (Compose runs in a session of its own: until
      // 2026-11-29 Ctrl-C reached it too, and Compose v1 stopped every replica of the service.)
      const status = e.signal.aborted ? 'interrupted' : w.status;
      return { status, steps, service: r.service, what: w.what, ...(failure ? { failure } : {}), removed: r.inPlace ? [] : fresh, oldKept: !r.inPlace };
    };
    if (res.exitCode !== 0) {
      return fail({ ok: false, status: 'failed', what: `Compose failed (exit ${res.exitCode}): ${res.output.trim().split('\n').slice(-5).join(' | ')}` });
    }
    if (!fresh.length && !r.inPlace) return fail({ ok: false, status: 'failed', what: 'Compose created no new container' });
    // In place, Compose started them: one that exited at once is not listed, and an empty wait passed as
    // ready (until 2026-11-29 the upgrade said done and ran the post-deploy migrations with it down).
    if (r.inPlace && fresh.length < r.replicas) {
      return fail({ ok: false, status: 'failed', what: `${fresh.length} of its ${r.replicas} new container(s) running after Compose started them (one exited at once?)` });
    }
    try {
      // Side by side: each is a few Engine calls and the app's boot.
      await Promise.all((r.inPlace ? [] : fresh).map(async (id) => {
        if (hidden) await e.hide(id, r.service);
        await e.start(id);
      }));
    } catch (err) {
      return fail({ ok: false, status: 'failed', what: `could not start the new containers: ${(err as Error).message}` });
    }
    const w = await waitReady(e, fresh, r.readyWhen, deadline);
    if (!w.ok) return fail(w);
    if (hidden) {
      try {
        for (const id of fresh) await e.reveal(id);
      } catch (err) {
        // The old ones still have the name and were never told to stop: the new ones go, as on any failure
        // (until 2026-11-28 the Engine's error escaped as an unexpected one, exit 1, with no record).
        return fail({ ok: false, status: 'failed', what: `could not give the new containers the name "${r.service}": ${(err as Error).message}` });
      }
      e.note(`${r.service}: ${fresh.length} new healthy, now answering to the name "${r.service}"`);
      // The old ones leave the name now, before they are told to stop: an app that stops accepting
      // (gunicorn does) resets a connection that reached it in between. They keep serving at their address.
      for (const c of r.old) {
        const why = await e.retire(c.id, r.service).catch((err: Error) => `could not: ${err.message}`);
        if (why) e.note(`${r.service}: ${c.name} answers to the name until it stops: ${why}`);
      }
    }
    const old = r.inPlace ? [] : [...oldIds];
    const drain = (async () => {
      // Let DNS caches (nginx re-resolves every second) learn the new set before the old ones go.
      if (hidden) await e.clock.sleep(DNS_SETTLE_MS);
      if (old.length) e.note(`${r.service}: draining ${old.length} old (graceful stop: requests in flight finish; then removed)`);
      await Promise.all(old.map(async (id) => {
        // The new ones serve: an old one the Engine fails to stop or remove is left, said so, and the
        // upgrade goes on (until 2026-11-28 the error escaped: exit 1, no record, the post phase skipped).
        try {
          await e.stop(id);
          await e.remove(id);
        } catch (err) {
          const name = r.old.find((c) => c.id === id)?.name ?? id.slice(0, 12);
          leftovers.push(name);
          e.note(`${r.service}: could not drain the old ${name}: ${(err as Error).message}; remove it with \`docker rm -f ${name}\``);
        }
      }));
      steps.push({ service: r.service, ms: e.clock.now() - t0, old: r.old.map((c) => c.name), new: fresh });
    })();
    drain.catch(() => {}); // handled: awaited (and its error thrown) by drained()
    drains.push(drain);
  }
  await drained();
  // A signal after the last service turned ready (while the old ones drained) stops nothing here, but
  // the caller must hear of it: what follows (the post-deploy migrations) is one-way.
  return { status: 'done', steps, ...(e.signal.aborted ? { interrupted: true as const } : {}), ...(leftovers.length ? { leftovers } : {}) };
}
