import { describe, expect, it } from 'vitest';
import { emptyState, fromEngineEvent, reduce, satisfies, serviceStatus, type Observation } from '../../../src/up/state.js';

const ev = (action: string, id: string, time: number, exitCode?: number): Observation => ({ type: 'event', action, id, name: `p_${id}_1`, service: id, time, ...(exitCode !== undefined ? { exitCode } : {}) });
const run = (...obs: Observation[]) => obs.reduce(reduce, emptyState());

describe('serviceStatus', () => {
  it('a healthchecked service is healthy on Docker health or our probe, whichever first', () => {
    let s = run({ type: 'inspect', id: 'db', name: 'p_db_1', service: 'db', status: 'created', time: 0 }, ev('start', 'db', 1));
    expect(serviceStatus(s, ['db'], 'service', true).state).toBe('starting');
    const byProbe = reduce(s, { type: 'probe', id: 'db', ok: true, output: '', time: 2 });
    expect(serviceStatus(byProbe, ['db'], 'service', true).state).toBe('healthy');
    s = reduce(s, ev('health_status: healthy', 'db', 3));
    expect(serviceStatus(s, ['db'], 'service', true)).toEqual({ state: 'healthy', since: 3 });
  });

  it('a failed probe does not make a service unhealthy; Docker saying so does', () => {
    const s = run(ev('create', 'a', 0), ev('start', 'a', 1), { type: 'probe', id: 'a', ok: false, output: 'no', time: 2 });
    expect(serviceStatus(s, ['a'], 'service', true).failed).toBeUndefined();
    const sick = reduce(s, ev('health_status: unhealthy', 'a', 3));
    expect(serviceStatus(sick, ['a'], 'service', true).failed?.reason).toBe('unhealthy');
  });

  it('a job completes on exit 0 and fails on anything else', () => {
    const ok = run(ev('create', 'm', 0), ev('start', 'm', 1), ev('die', 'm', 2, 0));
    expect(serviceStatus(ok, ['m'], 'job', false).state).toBe('completed');
    const bad = run(ev('create', 'm', 0), ev('start', 'm', 1), ev('die', 'm', 2, 3));
    expect(serviceStatus(bad, ['m'], 'job', false).failed).toMatchObject({ reason: 'exited', container: { exitCode: 3 } });
  });

  it('a job re-run forgets its previous exit', () => {
    const s = run({ type: 'inspect', id: 'm', name: 'p_m_1', service: 'm', status: 'exited', exitCode: 0, time: 0 }, { type: 'reset', id: 'm', time: 1 });
    expect(serviceStatus(s, ['m'], 'job', false).state).toBe('created');
  });

  it('a long-running service that exits has failed', () => {
    const s = run(ev('create', 'w', 0), ev('start', 'w', 1), ev('die', 'w', 2, 137));
    expect(serviceStatus(s, ['w'], 'service', false).failed?.container.exitCode).toBe(137);
  });

  it('every replica must be ready', () => {
    const s = run(ev('create', 'a', 0), ev('create', 'b', 0), ev('start', 'a', 1), ev('health_status: healthy', 'a', 2), ev('start', 'b', 1));
    expect(serviceStatus(s, ['a', 'b'], 'service', true).state).toBe('starting');
    expect(serviceStatus(reduce(s, ev('health_status: healthy', 'b', 3)), ['a', 'b'], 'service', true).state).toBe('healthy');
  });

  it('a late create event does not undo what inspect saw', () => {
    const s = run({ type: 'inspect', id: 'r', name: 'p_r_1', service: 'r', status: 'running', time: 5 }, ev('create', 'r', 1));
    expect(s.containers.get('r')?.status).toBe('running');
  });
});

describe('satisfies', () => {
  it.each([
    ['running', 'started', true],
    ['starting', 'started', true],
    ['starting', 'healthy', false],
    ['healthy', 'healthy', true],
    ['completed', 'completed', true],
    ['running', 'completed', false],
  ] as const)('%s satisfies %s: %s', (state, condition, want) => {
    expect(satisfies({ state, since: 0 }, condition)).toBe(want);
  });
});

describe('fromEngineEvent', () => {
  const raw = (Action: string, attrs: Record<string, string> = {}) => ({
    Type: 'container', Action, timeNano: 1_700_000_000_123_456_789,
    Actor: { ID: 'abc', Attributes: { 'com.docker.compose.service': 'backend', name: 'p_backend_1', ...attrs } },
  });
  it('reads die with its exit code, in ms', () => {
    expect(fromEngineEvent(raw('die', { exitCode: '1' }))).toEqual({ type: 'event', action: 'die', id: 'abc', name: 'p_backend_1', service: 'backend', exitCode: 1, time: 1_700_000_000_123 });
  });
  it('reads health status', () => {
    expect(fromEngineEvent(raw('health_status: healthy'))?.action).toBe('health_status: healthy');
  });
  it('ignores other actions, one-off containers and other types', () => {
    expect(fromEngineEvent(raw('exec_start: sh'))).toBeUndefined();
    expect(fromEngineEvent(raw('start', { 'com.docker.compose.oneoff': 'True' }))).toBeUndefined();
    expect(fromEngineEvent({ Type: 'network', Action: 'connect' })).toBeUndefined();
  });
});
