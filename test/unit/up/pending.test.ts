// The pending-migration check and the backup settings `up` and `status` share.
import { describe, expect, it } from 'vitest';
import { LABEL_PROBE } from '../../../src/model/compose.js';
import { backupSettings, checkPending, knownPending } from '../../../src/up/pending.js';
import { specOf, y } from '../helpers.js';
import { demoSpec } from './demo-spec.js';

describe('knownPending', () => {
  const check = ['migrate', '--check'];
  it.each([
    ['a database this run created: all pending, fresh', { fresh: true, check, baseId: 'c1' }, { pending: true, fresh: true }],
    ['fresh wins over --force-migrations', { fresh: true, check, baseId: 'c1', force: true }, { pending: true, fresh: true }],
    ['no check in the spec: runs', { fresh: false, baseId: 'c1' }, { pending: true, fresh: false }],
    ['no container to copy: runs', { fresh: false, check }, { pending: true, fresh: false }],
    ['--force-migrations: runs', { fresh: false, check, baseId: 'c1', force: true }, { pending: true, fresh: false }],
    ['otherwise the check must run', { fresh: false, check, baseId: 'c1' }, undefined],
  ])('%s', (_name, input, want) => expect(knownPending(input)).toEqual(want));
});

describe('checkPending', () => {
  it.each([
    [0, false],
    [1, true],
    [2, true],
  ])('check exit %i → pending %s, run in a copy labelled as our probe', async (exitCode, pending) => {
    const calls: unknown[] = [];
    const engine = { runLike: async (...a: unknown[]) => (calls.push(a), { exitCode, output: '' }) };
    expect(await checkPending(engine, 'base', ['migrate', '--check'], 'demo')).toBe(pending);
    expect(calls).toEqual([['base', ['migrate', '--check'], { [LABEL_PROBE]: 'demo' }, undefined]]);
  });
});

describe('backupSettings', () => {
  it('`backup: true` keeps 5 in ./backups', () => expect(backupSettings(demoSpec)).toEqual({ dir: 'backups', keep: 5 }));
  it('none asked, none taken', () => {
    const spec = specOf(y`
      name: demo
      data: { postgres: { image: pg, database: app, user: app, password: "\${DB_PASSWORD}" } }
      services: { backend: { image: app:1 } }
      migrations: { same_image_as: backend, before: [backend], command: [migrate] }
    `);
    expect(backupSettings(spec)).toBeUndefined();
  });
});
