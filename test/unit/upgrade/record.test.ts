// The files `up`, `upgrade` and `rollback` keep beside the spec: what the stack runs from, and the proxy
// config a rollback writes back (never over a file phase-compose did not write).
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDeployed, restorePreviousProxy, saveDeployed, savePreviousProxy } from '../../../src/upgrade/record.js';
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

describe('restorePreviousProxy', () => {
  const old = `${GENERATED_MARK} from phase-compose.yaml\nserver { listen 80; }\n`;
  const current = `${GENERATED_MARK} from phase-compose.yaml\nserver { listen 80; set_real_ip_from 10.0.0.0/8; }\n`;

  it('writes the saved config back over the generated one', () => {
    const d = dir();
    const path = join(d, 'default.conf');
    writeFileSync(path, current);
    const saved = savePreviousProxy(d, 'p', old);
    expect(restorePreviousProxy({ path, saved })).toMatch(/^wrote the config the old proxy read back to /);
    expect(readFileSync(path, 'utf8')).toBe(old);
    expect(restorePreviousProxy({ path, saved })).toMatch(/already holds the config the old proxy read/);
  });

  it('never replaces a file phase-compose did not write, and says when the copy is gone', () => {
    const d = dir();
    const path = join(d, 'default.conf');
    writeFileSync(path, 'server { } # mine\n');
    const saved = savePreviousProxy(d, 'p', old);
    expect(restorePreviousProxy({ path, saved })).toMatch(/was not written by phase-compose: left as it is/);
    expect(readFileSync(path, 'utf8')).toBe('server { } # mine\n');
    expect(restorePreviousProxy({ path, saved: join(d, 'gone.conf') })).toMatch(/the saved proxy config .* is missing/);
    expect(readFileSync(path, 'utf8')).toBe('server { } # mine\n');
  });
});
