// The pure parts of `exec <task>`: finding a task, and which reset task runs where.
import { describe, expect, it } from 'vitest';
import { findTask, resetTask, runMaintenance } from '../../../src/exec/maintenance.js';
import { resetNetworkPoliciesArgv } from '../../../src/exec/network-reset.js';
import { normaliseSpec } from '../../../src/spec/normalise.js';
import type { DeploymentSpec } from '../../../src/spec/types.js';

const base: DeploymentSpec = { name: 'fx', services: { backend: { image: 'app' }, worker: { image: 'app' } } };
const withTasks = normaliseSpec({
  ...base,
  maintenance: {
    purge: { service: 'backend', argv: ['purge'] },
    reset: { service: 'worker', kind: 'phase-reset-network-policies', argv: ['reset'] },
  },
});

describe('findTask', () => {
  it('returns the task, params filled', () => {
    expect(findTask(withTasks, 'purge')).toEqual({ service: 'backend', argv: ['purge'], params: {} });
  });
  it('an unknown task is a usage error naming the ones there are', () => {
    expect(() => findTask(withTasks, 'prune')).toThrowError(expect.objectContaining({
      kind: 'usage',
      message: 'the spec has no maintenance task "prune"',
      details: ['tasks: purge, reset', 'or run any command with `phase-compose exec run <service> -- <argv...>`'],
    }));
    expect(() => findTask(normaliseSpec(base), 'x')).toThrowError(expect.objectContaining({ details: ['declare tasks under `maintenance:` in the spec', 'or run any command with `phase-compose exec run <service> -- <argv...>`'] }));
  });
});

describe('runMaintenance refusals before Docker is asked', () => {
  it('a task named like a prototype key is unknown (before: a TypeError, exit 1 "a bug")', () => {
    for (const name of ['constructor', 'toString', '__proto__']) {
      expect(() => findTask(withTasks, name), name).toThrowError(expect.objectContaining({ kind: 'usage', message: `the spec has no maintenance task "${name}"` }));
    }
  });

  it('--vacuum or --vacuum-full on a purge task without report.table is a usage error (before: nothing vacuumed, exit 0)', async () => {
    const spec = normaliseSpec({ ...base, maintenance: { purge: { service: 'backend', kind: 'phase-purge', argv: ['purge', '{org}'], params: { org: { type: 'string', required: true } } } } });
    const docker = new Proxy({}, { get: () => { throw new Error('Docker was asked'); } }) as never;
    for (const vacuum of ['analyze', 'full'] as const) {
      await expect(runMaintenance(docker, { project: 'fx', spec }, 'purge', { org: 'Acme' }, {} as never, { vacuum })).rejects.toMatchObject({
        kind: 'usage',
        message: `--vacuum${vacuum === 'full' ? '-full' : ''} needs the table to vacuum: task "purge" has no report.table`,
      });
    }
  });
});

describe('resetTask', () => {
  const builtIn = (service: string) => ({ name: 'reset-network-policies', task: { service, kind: 'phase-reset-network-policies', argv: resetNetworkPoliciesArgv(), params: {} } });
  it('the spec\'s own reset task when it has one and no --service is given', () => {
    expect(resetTask(withTasks)).toEqual({ name: 'reset', task: withTasks.maintenance.reset });
  });
  it('--service runs the built-in one there', () => {
    expect(resetTask(withTasks, 'backend')).toEqual(builtIn('backend'));
  });
  it('no task in the spec: the built-in one in the first app service', () => {
    expect(resetTask(normaliseSpec(base))).toEqual(builtIn('backend'));
  });
});
