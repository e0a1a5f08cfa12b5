// Where each step stands in a run, and the progress rows drawn from it.
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../../src/up/plan.js';
import { apply, progressRows, runnerState, stepStatus, type Result } from '../../../src/up/runner-state.js';
import { demoSpec } from './demo-spec.js';

const plan = buildPlan(demoSpec);
const T0 = 1_000_000;
const fresh = () => runnerState(plan, { project: 'demo', timeoutMs: 60_000, forceMigrations: false, probeIntervalMs: 250, backup: true }, T0);
const inspected = (service: string, id: string, status: 'created' | 'running' | 'exited', more: { health?: 'healthy' | 'starting'; exitCode?: number } = {}): Result => ({
  type: 'inspected',
  service,
  inspected: { obs: { type: 'inspect', id, name: `demo_${id}`, service, status, ...more, time: T0 }, volumes: [] },
});

/** postgres tracked and started by this run, its Docker healthcheck `health`. */
function postgresStarted(health: 'healthy' | 'starting') {
  const s = fresh();
  apply(s, inspected('postgres', 'p1', 'running', { health }));
  apply(s, { type: 'tracked', service: 'postgres', ids: ['p1'] });
  apply(s, { type: 'started', service: 'postgres' });
  return s;
}

describe('stepStatus', () => {
  it('a job that exited 0 before this run started it is not completed', () => {
    const s = fresh();
    apply(s, inspected('migrations', 'm1', 'exited', { exitCode: 0 }));
    apply(s, { type: 'tracked', service: 'migrations', ids: ['m1'] });
    expect(stepStatus(s, 'migrations').state).toBe('created');
    apply(s, { type: 'started', service: 'migrations' });
    expect(stepStatus(s, 'migrations').state).toBe('completed');
  });

  it('a skipped migration counts as completed', () => {
    const s = fresh();
    apply(s, { type: 'skip', service: 'migrations', phase: 'pre', notes: [] });
    expect(stepStatus(s, 'migrations').state).toBe('completed');
    expect(s.migrations).toEqual({ pre: 'skipped' });
  });
});

describe('progressRows', () => {
  it('shows the phase until a step started, then its state; elapsed stops when it was ready', () => {
    const s = postgresStarted('healthy');
    s.now = T0 + 1200;
    apply(s, { type: 'ready', service: 'postgres' });
    apply(s, { type: 'begin', service: 'migrations' });
    apply(s, { type: 'backup', service: 'redis', take: false });
    s.now = T0 + 5000;
    expect(progressRows(s).slice(0, 4)).toEqual([
      { service: 'postgres', state: 'healthy', elapsedMs: 1200 },
      { service: 'redis', state: 'backing up', elapsedMs: 5000 },
      { service: 'migrations', state: 'checking', elapsedMs: 5000 },
      { service: 'backend', state: 'waiting', elapsedMs: 5000 },
    ]);
  });
});

describe('apply', () => {
  it('a probe that passed makes a running container healthy and ends its probing', () => {
    const s = postgresStarted('starting');
    apply(s, { type: 'probe', id: 'p1', argv: ['pg_isready'], timeoutMs: 1000 });
    s.now = T0 + 30;
    apply(s, { type: 'probed', id: 'p1', ok: true, output: 'accepting connections' });
    expect(stepStatus(s, 'postgres').state).toBe('healthy');
    expect(s.probes.get('p1')).toEqual({ inFlight: false, began: T0, nextAt: T0 + 250, over: true });
    expect(s.probeOutput.get('p1')).toBe('accepting connections');
  });
});
