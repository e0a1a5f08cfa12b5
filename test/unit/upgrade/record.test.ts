// The files `up`, `upgrade` and `rollback` keep beside the spec: what the stack runs from, and the proxy
// config a rollback writes back (never over a file phase-compose did not write).
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fileChanges } from '../../../src/upgrade/plan.js';
import { discardSaved, mergeDeployed, priorRecord, recreatedServices, readDeployed, readRecord, restorePreviousProxy, revertRecord, saveDeployed, savePreviousCompose, savePreviousProxy, saveUpgradedCompose, stampOf, writeRecord, type UpgradeRecord } from '../../../src/upgrade/record.js';
import { GENERATED_MARK } from '../../../src/util/generated-files.js';

const dir = () => mkdtempSync(join(tmpdir(), 'pc-record-'));

describe('deployed files', () => {
  it('reads back what was saved, 0600 in a 0700 directory; nothing saved reads as nothing', () => {
    const d = dir();
    expect(readDeployed(d, 'p')).toEqual({});
    saveDeployed(d, 'p', { compose: 'services: {}\n', proxy: { path: join(d, 'nginx.conf'), text: 'server {}\n' } });
    expect(readDeployed(d, 'p')).toEqual({ compose: 'services: {}\n', proxy: 'server {}\n' });
    expect(readDeployed(d, 'other')).toEqual({});
    expect(statSync(join(d, '.phase-compose')).mode & 0o777).toBe(0o700);
    expect(statSync(join(d, '.phase-compose/p.deployed-compose.yml')).mode & 0o777).toBe(0o600);
    saveDeployed(d, 'p', { compose: 'services: { a: {} }\n' });
    expect(readDeployed(d, 'p').compose).toBe('services: { a: {} }\n');
  });
});

describe('recreatedServices: what a run that did not end ready created, and so runs from its files', () => {
  const c = (id: string, service: string) => ({ id, service });
  it.each([
    ['nothing new', [c('a', 'backend')], [c('a', 'backend')], []],
    ['every replica new', [c('a', 'backend'), c('b', 'backend')], [c('x', 'backend'), c('y', 'backend')], ['backend']],
    // One replica replaced, one old one left: the old one still runs from the files before.
    ['one of two replicas new', [c('a', 'backend'), c('b', 'backend')], [c('a', 'backend'), c('y', 'backend')], []],
    ['a service that did not run before', [c('a', 'backend')], [c('a', 'backend'), c('w', 'worker')], ['worker']],
    ['sorted, without a container that has no service label', [], [c('w', 'worker'), c('b', 'backend'), c('z', '')], ['backend', 'worker']],
    ['nothing running now', [c('a', 'backend')], [], []],
  ])('%s', (_, before, now, want) => expect(recreatedServices(new Set(before.map((x) => x.id)), now)).toEqual(want));
});

describe('restorePreviousProxy', () => {
  const old = `${GENERATED_MARK} from phase-compose.yaml\nserver { listen 80; }\n`;
  const current = `${GENERATED_MARK} from phase-compose.yaml\nserver { listen 80; set_real_ip_from 10.0.0.0/8; }\n`;

  it('writes the saved config back over the generated one', () => {
    const d = dir();
    const path = join(d, 'default.conf');
    writeFileSync(path, current);
    const saved = savePreviousProxy(d, 'p', '1', old);
    expect(restorePreviousProxy({ path, saved })).toMatch(/^wrote the config the old proxy read back to /);
    expect(readFileSync(path, 'utf8')).toBe(old);
    expect(restorePreviousProxy({ path, saved })).toMatch(/already holds the config the old proxy read/);
  });

  it('never replaces a file phase-compose did not write, and says when the copy is gone', () => {
    const d = dir();
    const path = join(d, 'default.conf');
    writeFileSync(path, 'server { } # mine\n');
    const saved = savePreviousProxy(d, 'p', '1', old);
    expect(restorePreviousProxy({ path, saved })).toMatch(/was not written by phase-compose: left as it is/);
    expect(readFileSync(path, 'utf8')).toBe('server { } # mine\n');
    expect(restorePreviousProxy({ path, saved: join(d, 'gone.conf') })).toMatch(/the saved proxy config .* is missing/);
    expect(readFileSync(path, 'utf8')).toBe('server { } # mine\n');
  });
});

describe('one record per upgrade, each with its own saved files', () => {
  const upgrade = (d: string, at: string, compose: string): UpgradeRecord => ({
    project: 'p', at, previousCompose: savePreviousCompose(d, 'p', stampOf(at), compose), services: { backend: { from: 'a', to: 'b' } }, postRan: false,
  });

  it('a second upgrade that replaced nothing puts the first one\'s record back, with the file it points to as it was', () => {
    // Until 2026-11-29 the saved file had one name: the second upgrade wrote over it before it failed, and
    // `rollback` then returned to what ran (nothing) and said done.
    const d = dir();
    const first = upgrade(d, '2026-11-29T01:00:00.000Z', 'services: { v: 0 }\n');
    writeRecord(d, first);
    const prior = priorRecord(d, 'p');
    expect(prior).toEqual(first);
    const second = upgrade(d, '2026-11-29T02:00:00.000Z', 'services: { v: 1 }\n');
    expect(second.previousCompose).not.toBe(first.previousCompose);
    writeRecord(d, second);
    revertRecord(d, second, prior);
    expect(readRecord(d, 'p')).toEqual(first);
    expect(readFileSync(first.previousCompose, 'utf8')).toBe('services: { v: 0 }\n');
    expect(existsSync(second.previousCompose)).toBe(false);
  });

  it("a record's copy of the upgraded compose file is its own too: dropped with it, kept with it", () => {
    const d = dir();
    const a = { ...upgrade(d, '2026-11-29T07:00:00.000Z', 'a\n'), upgradedCompose: saveUpgradedCompose(d, 'p', '20261129070000000', 'a2\n') };
    const b = { ...upgrade(d, '2026-11-29T08:00:00.000Z', 'b\n'), upgradedCompose: saveUpgradedCompose(d, 'p', '20261129080000000', 'b2\n') };
    discardSaved(d, a, b);
    expect([a.previousCompose, a.upgradedCompose, b.previousCompose, b.upgradedCompose].map((p) => existsSync(p))).toEqual([false, false, true, true]);
  });

  it('without an earlier record, reverting leaves none; a record kept drops the earlier one\'s files only', () => {
    const d = dir();
    const only = upgrade(d, '2026-11-29T03:00:00.000Z', 'x\n');
    writeRecord(d, only);
    revertRecord(d, only, undefined);
    expect(priorRecord(d, 'p')).toBeUndefined();
    expect(existsSync(only.previousCompose)).toBe(false);
    const a = upgrade(d, '2026-11-29T04:00:00.000Z', 'a\n');
    const b = upgrade(d, '2026-11-29T05:00:00.000Z', 'b\n');
    discardSaved(d, a, b);
    expect([existsSync(a.previousCompose), existsSync(b.previousCompose)]).toEqual([false, true]);
  });

  it('never removes a file a record names outside .phase-compose/ or under another project\'s name', () => {
    const d = dir();
    const outside = join(d, 'mine.yml');
    writeFileSync(outside, 'keep\n');
    const other = savePreviousCompose(d, 'q', '1', 'keep\n');
    for (const previousCompose of [outside, other]) {
      discardSaved(d, { project: 'p', at: 'x', previousCompose, previousProxy: { path: outside, saved: outside }, services: {}, postRan: false });
      expect(readFileSync(previousCompose, 'utf8')).toBe('keep\n');
    }
  });

  it('a record that cannot be read is no record to put back', () => {
    const d = dir();
    writeRecord(d, upgrade(d, '2026-11-29T06:00:00.000Z', 'x\n'));
    writeFileSync(join(d, '.phase-compose/p.last-upgrade.json'), '{ not json');
    expect(priorRecord(d, 'p')).toBeUndefined();
  });
});

describe('mergeDeployed: what runs after an up of some services', () => {
  const recorded = 'services:\n  backend:\n    image: "app:${V}"\n    healthcheck: { interval: 2s }\n  worker:\n    image: "app:${V}"\n    user: "1000"\nvolumes:\n  data: {}\n';
  const now = 'services:\n  backend:\n    image: "app:${V}"\n    healthcheck: { interval: 3s }\n    volumes: [cache:/c]\n  worker:\n    image: "app:${V}"\n    user: "0"\nvolumes:\n  data: {}\n  cache: {}\n';

  it('takes those services as the file defines them now, keeps the others as recorded, and adds the volumes they use', () => {
    // Until 2026-11-29 an `up backend` recorded nothing, and the next `up` refused: "backend (healthcheck) changed".
    const merged = mergeDeployed(recorded, now, ['backend'])!;
    expect(fileChanges(merged, now)).toEqual({ worker: ['user'] });
    expect(parse(merged)).toEqual({
      services: { backend: { image: 'app:${V}', healthcheck: { interval: '3s' }, volumes: ['cache:/c'] }, worker: { image: 'app:${V}', user: '1000' } },
      volumes: { data: {}, cache: {} },
    });
  });

  it('knows nothing without a record, or from a text that does not parse', () => {
    expect(mergeDeployed(undefined, now, ['backend'])).toBeUndefined();
    expect(mergeDeployed('services: [', now, ['backend'])).toBeUndefined();
    expect(mergeDeployed(recorded, '- a list', ['backend'])).toBeUndefined();
  });
});
