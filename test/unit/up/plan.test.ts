import { describe, expect, it } from 'vitest';
import { buildPlan, coldStart, migrationPlan, scaleArgs } from '../../../src/up/plan.js';
import { specOf, y } from '../helpers.js';
import { demoSpec } from './demo-spec.js';

const spec = demoSpec;

describe('buildPlan', () => {
  const plan = buildPlan(spec);
  const step = (s: string) => plan.steps.find((x) => x.service === s)!;

  it('orders steps by wave', () => {
    expect(plan.steps.map((s) => s.service)).toEqual(['postgres', 'redis', 'migrations', 'backend', 'worker', 'migrations-post', 'nginx']);
  });

  it('says what ready means for each step', () => {
    expect(plan.steps.map((s) => [s.service, s.readyWhen])).toEqual([
      ['postgres', 'healthy'], ['redis', 'healthy'], ['migrations', 'completed'], ['backend', 'healthy'],
      ['worker', 'started'], ['migrations-post', 'completed'], ['nginx', 'healthy'],
    ]);
  });

  it('names the port each healthy-when step\'s healthcheck connects to in its own container', () => {
    expect(plan.steps.map((s) => [s.service, s.port])).toEqual([
      ['postgres', 5432], ['redis', 6379], ['migrations', undefined], ['backend', 8000], ['worker', undefined], ['migrations-post', undefined], ['nginx', 8080],
    ]);
    const other = buildPlan(specOf(y`
      name: ports
      services:
        tcp: { image: a, healthcheck: { tcp: { port: 7000 } } }
        elsewhere: { image: a, healthcheck: { http: { port: 8000, host: sidecar } } }
        own: { image: a, healthcheck: { command: [check] } }
        v6: { image: a, healthcheck: { tcp: { port: 9000, host: "::1" } } }
    `));
    // A check of another host's port, or a command, names no port of this container.
    expect(other.steps.map((s) => [s.service, s.port])).toEqual([['tcp', 7000], ['elsewhere', undefined], ['own', undefined], ['v6', 9000]]);
  });

  it('creates nothing that waits on a job before the job succeeded', () => {
    expect(plan.batches).toEqual([
      { services: ['postgres', 'redis', 'migrations'], after: [] },
      { services: ['backend', 'worker', 'migrations-post', 'nginx'], after: ['migrations'] },
    ]);
    expect(step('backend').batch).toBe(1);
  });

  it('carries the migration checks', () => {
    expect(step('migrations').migration).toEqual({ phase: 'pre', check: ['migrate', 'pre', '--check'], run: 'when-pending' });
    expect(step('migrations-post').migration).toEqual({ phase: 'post', check: ['migrate', 'post', '--check'], run: 'when-pending' });
  });

  it('limits to services and what they wait for', () => {
    expect(buildPlan(spec, ['worker']).steps.map((s) => s.service)).toEqual(['postgres', 'redis', 'migrations', 'worker']);
  });

  it('refuses a service the stack does not have, with a guess, instead of starting nothing', () => {
    const refused = (() => {
      try {
        buildPlan(spec, ['worker', 'bakend', 'zzzzzz', 'bakend']);
      } catch (e) {
        return e as { kind: string; message: string; details: string[] };
      }
      throw new Error('buildPlan accepted unknown services');
    })();
    expect(refused.kind).toBe('usage');
    expect(refused.message).toBe('no service "bakend", "zzzzzz" in this stack');
    expect(refused.details[0]).toBe('"bakend": did you mean "backend"?');
    expect(refused.details[1]).toBe('its services: backend, migrations, migrations-post, nginx, postgres, redis, worker');
  });

  it('scales replicas', () => {
    expect(scaleArgs(plan.steps, ['backend', 'worker'])).toEqual(['--scale', 'backend=2']);
  });
});

describe('migrationPlan', () => {
  it('keeps data and the chosen phases, in one batch, the post phase right after the pre phase', () => {
    const p = migrationPlan(spec, ['pre', 'post']);
    expect(p.steps.map((s) => [s.service, s.deps.map((d) => d.on)])).toEqual([
      ['postgres', []], ['redis', []], ['migrations', ['postgres', 'redis']], ['migrations-post', ['migrations']],
    ]);
    expect(p.batches).toEqual([{ services: ['postgres', 'redis', 'migrations', 'migrations-post'], after: [] }]);
  });

  it('runs the post phase alone', () => {
    expect(migrationPlan(spec, ['post']).steps.map((s) => s.service)).toEqual(['postgres', 'redis', 'migrations-post']);
  });
});

describe('coldStart', () => {
  const plan = buildPlan(spec);
  const depsOf = (p: ReturnType<typeof buildPlan>, s: string) => p.steps.find((x) => x.service === s)!.deps.map((d) => `${d.on}:${d.condition}`);

  it('the post phase waits for the app on a warm start, and only for the pre phase on a cold one', () => {
    expect(depsOf(plan, 'migrations-post')).toEqual(['backend:healthy', 'migrations:completed']);
    expect(depsOf(coldStart(plan), 'migrations-post')).toEqual(['migrations:completed']);
  });

  it('changes nothing else: the app still waits for the pre phase, and the batches stay', () => {
    const cold = coldStart(plan);
    for (const s of plan.steps.filter((x) => x.service !== 'migrations-post')) expect(depsOf(cold, s.service)).toEqual(depsOf(plan, s.service));
    expect(cold.batches).toEqual(plan.batches);
  });
});
