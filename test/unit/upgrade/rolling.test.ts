// The rolling replacement on fake edges and a fake clock: new beside old, hidden until healthy, then the
// old drained; a failure removes the new ones and never touches the old.
import { describe, expect, it } from 'vitest';
import type { Inspected } from '../../../src/up/engine.js';
import { FACTS_LOOK_MS } from '../../../src/up/failure-facts.js';
import type { Replacement } from '../../../src/upgrade/plan.js';
import { DNS_SETTLE_MS, rollingReplace, STABLE_MS, type RollEdges } from '../../../src/upgrade/rolling.js';
import { FakeClock } from '../up/fake-clock.js';

type Fake = { healthyAt?: number; exitAt?: number; exitCode?: number; health?: boolean; restartingAt?: number; restartedAt?: number };

/** `stopMs`: how long a graceful stop takes (the app's grace period). */
function edges(clock: FakeClock, fresh: Record<string, Fake>, composeExit = 0, stopMs = 0) {
  const calls: string[] = [];
  const alive = new Set(['b1', 'b2', 'w1']);
  const created: string[] = [];
  const e: RollEdges = {
    compose: async (args) => {
      calls.push(`compose ${args.join(' ')}`);
      const service = args.at(-1)!;
      for (const id of Object.keys(fresh)) if (id.startsWith(service[0]!)) created.push(id);
      return { argv: args, exitCode: composeExit, output: composeExit ? 'boom' : '' };
    },
    containers: async (service) => [...alive, ...created].filter((id) => id.startsWith(service[0]!)).map((id) => ({ id, name: `fx-${id}` })),
    inspect: async (id, now): Promise<Inspected> => {
      const f = fresh[id] ?? {};
      const exited = f.exitAt !== undefined && now >= f.exitAt;
      const restarting = f.restartingAt !== undefined && now >= f.restartingAt;
      const health = f.health === false ? undefined : f.healthyAt !== undefined && now >= f.healthyAt ? 'healthy' : 'starting';
      return { obs: { type: 'inspect', id, name: `fx-${id}`, service: '', status: exited ? 'exited' : restarting ? 'restarting' : 'running', ...(exited ? { exitCode: f.exitCode ?? 1 } : {}), ...(health ? { health } : {}), ...(health ? { healthLog: [{ exitCode: 1, output: 'not yet' }] } : {}), time: now }, volumes: [], ...(f.restartedAt !== undefined && now >= f.restartedAt ? { restarts: 1 } : {}), ...(health ? { healthTest: ['CMD', 'probe'] } : {}) };
    },
    exec: async () => ({ exitCode: 1, output: '503' }),
    stop: async (id) => {
      calls.push(`stop ${id}`);
      if (stopMs) await clock.sleep(stopMs);
    },
    start: async (id) => void calls.push(`start ${id}`),
    hide: async (id, s) => void calls.push(`hide ${id} from ${s}`),
    reveal: async (id) => void calls.push(`reveal ${id}`),
    retire: async (id, s) => {
      calls.push(`retire ${id} from ${s}`);
      return id === 'b2' ? 'a lower address is free' : undefined;
    },
    remove: async (id) => {
      calls.push(`remove ${id}`);
      alive.delete(id);
    },
    logs: async (id) => `logs of ${id}`,
    clock,
    signal: new AbortController().signal,
    note: (l) => calls.push(`note ${l}`),
  };
  return { e, calls };
}

const T0 = 1_700_000_000_000;
const backend: Replacement = { service: 'backend', readyWhen: 'healthy', inPlace: false, old: [{ id: 'b1', name: 'fx-b1', service: 'backend', imageId: 'v1', env: [] }, { id: 'b2', name: 'fx-b2', service: 'backend', imageId: 'v1', env: [] }], replicas: 2, why: ['image'], fromImage: 'v1', toImage: 'v2' };
const worker: Replacement = { service: 'worker', readyWhen: 'running', inPlace: false, old: [{ id: 'w1', name: 'fx-w1', service: 'worker', imageId: 'v1', env: [] }], replicas: 1, why: ['image'], fromImage: 'v1', toImage: 'v2' };

describe('rollingReplace', () => {
  it('starts the new ones hidden, reveals them once healthy, takes the old out of the name, then drains them; a worker must stay up 3 s', async () => {
    const clock = new FakeClock(T0);
    const { e, calls } = edges(clock, { b3: { healthyAt: T0 + 1200 }, b4: { healthyAt: T0 + 1700 }, w2: { health: false } });
    const r = await clock.run(rollingReplace(e, [backend, worker], T0 + 60_000));
    expect(r.status).toBe('done');
    expect(r).not.toHaveProperty('interrupted');
    expect(calls.filter((c) => !c.startsWith('note'))).toEqual([
      'compose up --no-start --no-deps --no-recreate --scale backend=4 backend',
      // The new ones start side by side.
      'hide b3 from backend', 'hide b4 from backend', 'start b3', 'start b4',
      'reveal b3', 'reveal b4',
      // The old leave the name before they are stopped (a worker, without a healthcheck, is not hidden nor retired).
      'retire b1 from backend', 'retire b2 from backend',
      // The worker is replaced while the old backends wait 2 s for DNS caches, then drain.
      'compose up --no-start --no-deps --no-recreate --scale worker=2 worker',
      'start w2',
      'stop b1', 'stop b2', 'remove b1', 'remove b2',
      'stop w1', 'remove w1',
    ]);
    expect(r.steps.map((s) => [s.service, s.ms])).toEqual([['backend', 2000 + DNS_SETTLE_MS], ['worker', STABLE_MS]]);
    expect(clock.now()).toBe(T0 + 2000 + STABLE_MS);
    // One that could not leave the name (its address would change) is said so, and drained all the same.
    expect(calls).toContain('note backend: fx-b2 answers to the name until it stops: a lower address is free');
    expect(calls.filter((c) => c.startsWith('retire')).length).toBe(2);
  });

  it('the old backend drains (a 5 s grace period) while the worker is replaced; every drain ends before it returns', async () => {
    const clock = new FakeClock(T0);
    const { e, calls } = edges(clock, { b3: { healthyAt: T0 + 1200 }, b4: { healthyAt: T0 + 1700 }, w2: { health: false } }, 0, 5000);
    const r = await clock.run(rollingReplace(e, [backend, worker], T0 + 60_000));
    expect(r.status).toBe('done');
    const at = (c: string) => calls.indexOf(c);
    // The worker's new container starts before the old backends are gone (even before they are stopped).
    expect(at('start w2')).toBeLessThan(at('stop b1'));
    expect(at('start w2')).toBeLessThan(at('remove b1'));
    // Old backends gone at 2 s (healthy) + settle + 5 s; the worker stable 3 s after its start, then its 5 s stop.
    expect(r.steps.map((s) => [s.service, s.ms])).toEqual([['backend', 2000 + DNS_SETTLE_MS + 5000], ['worker', STABLE_MS + 5000]]);
    // The whole: the later of the two (the backend's settle and drain overlap the worker's wait).
    expect(clock.now()).toBe(T0 + 2000 + Math.max(DNS_SETTLE_MS + 5000, STABLE_MS + 5000));
    expect(calls.filter((c) => c.startsWith('remove'))).toEqual(['remove b1', 'remove b2', 'remove w1']);
  });

  it('Ctrl-C while the last old containers drain: every drain ends, and the result says it was interrupted', async () => {
    // Until 2026-11-28 it returned a plain done: the caller went on to the one-way post-deploy migrations.
    const clock = new FakeClock(T0);
    const { e, calls } = edges(clock, { b3: { healthyAt: T0 + 1200 }, b4: { healthyAt: T0 + 1700 }, w2: { health: false } }, 0, 5000);
    const ctrlC = new AbortController();
    const stop = e.stop;
    e.stop = async (id) => {
      if (id === 'w1') ctrlC.abort('SIGINT'); // the worker's old container: the last drain
      await stop(id);
    };
    const r = await clock.run(rollingReplace({ ...e, signal: ctrlC.signal }, [backend, worker], T0 + 60_000));
    expect(r).toMatchObject({ status: 'done', interrupted: true });
    expect(calls.filter((c) => c.startsWith('remove'))).toEqual(['remove b1', 'remove b2', 'remove w1']);
  });

  it('the Engine failing to stop an old container: the others drain, it is named and left, the result says so', async () => {
    // Until 2026-11-28 the error escaped rollingReplace: exit 1 "unexpected error", no record written.
    const clock = new FakeClock(T0);
    const { e, calls } = edges(clock, { b3: { healthyAt: T0 + 1200 }, b4: { healthyAt: T0 + 1700 }, w2: { health: false } });
    const stop = e.stop;
    e.stop = async (id) => {
      if (id === 'b1') throw new Error('(HTTP code 500) server error');
      await stop(id);
    };
    const r = await clock.run(rollingReplace(e, [backend, worker], T0 + 60_000));
    expect(r).toMatchObject({ status: 'done', leftovers: ['fx-b1'] });
    expect(calls.filter((c) => c.startsWith('remove'))).toEqual(['remove b2', 'remove w1']);
    expect(calls).toContain('note backend: could not drain the old fx-b1: (HTTP code 500) server error; remove it with `docker rm -f fx-b1`');
  });

  it('the Engine failing to give the new containers the name: they go, the old ones were never touched', async () => {
    const clock = new FakeClock(T0);
    const { e, calls } = edges(clock, { b3: { healthyAt: T0 + 1200 }, b4: { healthyAt: T0 + 1700 } });
    e.reveal = async (id) => {
      if (id === 'b4') throw new Error('(HTTP code 500) endpoint with name fx-b4 already exists');
      calls.push(`reveal ${id}`);
    };
    const r = await clock.run(rollingReplace(e, [backend], T0 + 60_000));
    expect(r).toMatchObject({ status: 'failed', service: 'backend', oldKept: true, removed: ['b3', 'b4'], what: 'could not give the new containers the name "backend": (HTTP code 500) endpoint with name fx-b4 already exists' });
    expect(calls.filter((c) => /^(stop|retire|remove)/.test(c))).toEqual(['remove b3', 'remove b4']);
  });

  it('a probe that never answers is bounded: by its timeout and the deadline, and by Ctrl-C', async () => {
    // Until 2026-11-28 the exec had no bound: the wait hung past the deadline, deaf to Ctrl-C (deadlock here).
    const clock = new FakeClock(T0);
    const { e } = edges(clock, { b3: {}, b4: {} });
    const execs: number[] = [];
    e.exec = () => {
      execs.push(clock.now());
      return new Promise(() => {}); // accepts, never answers
    };
    const r = await clock.run(rollingReplace(e, [backend], T0 + 60_000));
    expect(r).toMatchObject({ status: 'timeout', service: 'backend', failure: { probeOutput: 'timed out after 30000ms' } });
    expect(clock.now()).toBeLessThanOrEqual(T0 + 60_000 + 1000);
    expect(execs[1]! - execs[0]!).toBe(30_000); // b3's probe took its 30 s (Docker's default timeout), then b4's
    const ctrlC = new AbortController();
    const c2 = new FakeClock(T0);
    const second = edges(c2, { b3: {}, b4: {} });
    second.e.exec = () => {
      if (!ctrlC.signal.aborted) void c2.sleep(5000).then(() => ctrlC.abort('SIGINT'));
      return new Promise(() => {});
    };
    const i = await c2.run(rollingReplace({ ...second.e, signal: ctrlC.signal }, [backend], T0 + 600_000));
    expect(i.status).toBe('interrupted');
    expect(c2.now()).toBe(T0 + 5000);
  });

  it('in place: a new container that exited at once (so not listed) is a failure, not an empty wait that passes', async () => {
    const clock = new FakeClock(T0);
    const { e } = edges(clock, {});
    const proxy: Replacement = { service: 'nginx', readyWhen: 'running', inPlace: true, old: [{ id: 'n1', name: 'fx-n1', service: 'nginx', imageId: 'v1', env: [] }], replicas: 1, why: ['image'], fromImage: 'v1', toImage: 'v2' };
    const r = await clock.run(rollingReplace(e, [proxy], T0 + 60_000));
    expect(r).toMatchObject({ status: 'failed', service: 'nginx', what: '0 of its 1 new container(s) running after Compose started them (one exited at once?)' });
  });

  it('a container whose probe overran gets no other until that exec ended: they do not pile up', async () => {
    // Until 2026-11-29 a new exec started at every poll beside the ones still hung (the API cannot stop an exec).
    const clock = new FakeClock(T0);
    const { e } = edges(clock, { b3: {}, b4: {} });
    const execs: string[] = [];
    e.exec = (id) => {
      execs.push(`${id} ${clock.now() - T0}`);
      // b3's first exec ends after 45 s (15 s past its timeout); every other one never answers.
      return execs.length === 1 ? clock.sleep(45_000).then(() => ({ exitCode: 1, output: 'late' })) : new Promise(() => {});
    };
    const r = await clock.run(rollingReplace(e, [backend], T0 + 200_000));
    expect(r).toMatchObject({ status: 'timeout', service: 'backend' });
    // b3 at 0 (overran at 30 s, ended at 45 s), b4 at 30 s (never ends), b3 again only once its exec ended.
    expect(execs.map((x) => x.split(' ')[0])).toEqual(['b3', 'b4', 'b3']);
    expect(Number(execs[2]!.split(' ')[1])).toBeGreaterThanOrEqual(45_000);
  });

  it('a new container that never turns healthy is removed at the deadline; the old ones are never stopped', async () => {
    const clock = new FakeClock(T0);
    const { e, calls } = edges(clock, { b3: { healthyAt: T0 + 500 }, b4: {} });
    const r = await clock.run(rollingReplace(e, [backend, worker], T0 + 10_000));
    expect(r).toMatchObject({ status: 'timeout', service: 'backend', removed: ['b3', 'b4'], oldKept: true, steps: [] });
    expect(r.status !== 'done' && r.failure).toMatchObject({ container: 'fx-b4', what: 'not healthy by the deadline', probeOutput: '503', logs: 'logs of b4' });
    expect(calls.filter((c) => /^(stop|remove|reveal)/.test(c))).toEqual(['remove b3', 'remove b4']);
    expect(clock.now()).toBe(T0 + 10_000);
  });

  it('a hung Engine when the failure is described: its output is said missing, FACTS_LOOK_MS after the deadline at most', async () => {
    const clock = new FakeClock(T0);
    const { e } = edges(clock, { b3: {}, b4: {} });
    let asked = 0;
    e.logs = () => ((asked += 1), new Promise<string>(() => {}));
    // Inspect hangs too, once the output was asked for (the failure's facts; the polls before it are
    // not bounded): the wait is still FACTS_LOOK_MS, not twice that.
    const inspect = e.inspect;
    e.inspect = (id, now) => (asked ? new Promise<Inspected>(() => {}) : inspect(id, now));
    const r = await clock.run(rollingReplace(e, [backend], T0 + 10_000));
    expect(r).toMatchObject({ status: 'timeout', service: 'backend', removed: ['b3', 'b4'], oldKept: true });
    expect(r.status !== 'done' && r.failure).toMatchObject({ container: 'b3', logs: '(the Engine did not answer within 5 s: no output read)' });
    expect(r.status !== 'done' && r.failure).not.toHaveProperty('healthLog');
    expect(asked).toBe(1);
    // Until 2026-11-29 the upgrade never ended.
    expect(clock.now()).toBe(T0 + 10_000 + FACTS_LOOK_MS);
  });

  it('a worker that crashes and is restarted by its policy fails at once, without waiting for the deadline', async () => {
    const clock = new FakeClock(T0);
    const { e, calls } = edges(clock, { w2: { health: false, restartingAt: T0 + 1000 } });
    const r = await clock.run(rollingReplace(e, [worker], T0 + 60_000));
    expect(r).toMatchObject({ status: 'failed', service: 'worker', removed: ['w2'], oldKept: true });
    expect(r.status !== 'done' && r.failure).toMatchObject({ container: 'fx-w2', what: 'crashed (its restart policy has restarted it)', logs: 'logs of w2' });
    expect(calls.filter((c) => /^(stop|remove)/.test(c))).toEqual(['remove w2']);
    expect(clock.now()).toBeLessThan(T0 + 2000);
  });
  it('so does one seen running again between two polls: its restart count tells', async () => {
    const clock = new FakeClock(T0);
    const { e } = edges(clock, { w2: { health: false, restartedAt: T0 + 1000 } });
    const r = await clock.run(rollingReplace(e, [worker], T0 + 60_000));
    expect(r).toMatchObject({ status: 'failed', service: 'worker', removed: ['w2'], oldKept: true });
    expect(r.status !== 'done' && r.failure).toMatchObject({ what: 'crashed (its restart policy has restarted it 1 time(s))' });
    expect(clock.now()).toBeLessThan(T0 + 2000);
  });

  it('a new container that crashes fails at once with its exit code', async () => {
    const clock = new FakeClock(T0);
    const { e, calls } = edges(clock, { b3: { exitAt: T0 + 1000, exitCode: 3 }, b4: { healthyAt: T0 } });
    const r = await clock.run(rollingReplace(e, [backend], T0 + 60_000));
    expect(r).toMatchObject({ status: 'failed', service: 'backend', failure: { what: 'exited with code 3', exitCode: 3 } });
    expect(clock.now()).toBe(T0 + 1000);
    expect(calls.filter((c) => c.startsWith('stop'))).toEqual([]);
  });

  it('Compose failing creates nothing to wait for', async () => {
    const clock = new FakeClock(T0);
    const { e } = edges(clock, {}, 1);
    const r = await clock.run(rollingReplace(e, [backend], T0 + 60_000));
    expect(r).toMatchObject({ status: 'failed', oldKept: true, what: 'Compose failed (exit 1): boom' }); // its output is the report
  });
});

describe('rollingReplace under Ctrl-C', () => {
  it('Compose failing because Ctrl-C reached it too (one process group) is the interruption, not a failure', async () => {
    const clock = new FakeClock(T0);
    const { e } = edges(clock, {}, 130);
    const ctrlC = new AbortController();
    ctrlC.abort();
    const r = await clock.run(rollingReplace({ ...e, signal: ctrlC.signal }, [backend], T0 + 60_000));
    expect(r).toMatchObject({ status: 'interrupted', oldKept: true });
  });
});
