// An earlier run's migration is waited for (never stopped), with a fake engine and a fake clock.
import { describe, expect, it } from 'vitest';
import { waitForEarlierMigrations } from '../../../src/up/earlier-migration.js';
import type { Inspected, UpEngine } from '../../../src/up/engine.js';
import { FakeClock } from './fake-clock.js';

type Life = { service: string; name: string; endsAt?: number; exitCode?: number };

function engine(clock: FakeClock, lives: Record<string, Life>) {
  const inspected: string[] = [];
  const e: Pick<UpEngine, 'containersByService' | 'inspect' | 'logs'> = {
    containersByService: async () => {
      const m = new Map<string, string[]>();
      for (const [id, l] of Object.entries(lives)) m.set(l.service, [...(m.get(l.service) ?? []), id]);
      return m;
    },
    inspect: async (id): Promise<Inspected> => {
      inspected.push(id);
      const l = lives[id]!;
      const running = l.endsAt === undefined || clock.now() < l.endsAt;
      return { obs: { type: 'inspect', id, name: l.name, service: l.service, status: running ? 'running' : 'exited', ...(running ? {} : { exitCode: l.exitCode }), time: clock.now() }, volumes: [] };
    },
    logs: async (id) => `output of ${id}\n`,
  };
  return { e, inspected };
}

const T0 = 1_700_000_000_000;

describe('waitForEarlierMigrations', () => {
  it('finds nothing running: returns at once, says nothing', async () => {
    const clock = new FakeClock(T0);
    const { e } = engine(clock, { m1: { service: 'migrations', name: 'fx-migrations-1', endsAt: T0 - 1, exitCode: 0 }, b1: { service: 'backend', name: 'fx-backend-1' } });
    const notes: string[] = [];
    expect(await clock.run(waitForEarlierMigrations(e, { project: 'fx', migrationServices: ['migrations'], deadline: T0 + 60_000, clock, note: (n) => notes.push(n) }))).toEqual([]);
    expect(notes).toEqual([]);
    expect(clock.asked).toEqual([]);
  });

  it('waits for a running migration to end, and reports a failure with its output', async () => {
    const clock = new FakeClock(T0);
    const { e } = engine(clock, { m1: { service: 'migrations', name: 'fx-migrations-1', endsAt: T0 + 2500, exitCode: 3 } });
    const notes: string[] = [];
    const r = await clock.run(waitForEarlierMigrations(e, { project: 'fx', migrationServices: ['migrations'], deadline: T0 + 60_000, clock, note: (n) => notes.push(n) }));
    expect(r).toEqual([{ service: 'migrations', container: 'fx-migrations-1', exitCode: 3, logs: 'output of m1\n', stillRunning: false }]);
    expect(clock.now()).toBe(T0 + 3000);
    expect(notes).toEqual([
      'migrations: a migration from an earlier run is still running in fx-migrations-1; waiting for it to end before anything replaces it (it is never stopped)',
      "migrations: the earlier run's migration failed (exit 3); this run tries again. Its last output:\noutput of m1",
    ]);
  });

  it('at the deadline, leaves it running and says so', async () => {
    const clock = new FakeClock(T0);
    const { e } = engine(clock, { m1: { service: 'migrations-post', name: 'fx-migrations-post-1' } });
    const r = await clock.run(waitForEarlierMigrations(e, { project: 'fx', migrationServices: ['migrations', 'migrations-post'], deadline: T0 + 2500, clock, note: () => {} }));
    expect(r).toEqual([{ service: 'migrations-post', container: 'fx-migrations-post-1', logs: 'output of m1\n', stillRunning: true }]);
    expect(clock.now()).toBe(T0 + 2500);
    expect(clock.asked).toEqual([1000, 1000, 500]);
  });
});
