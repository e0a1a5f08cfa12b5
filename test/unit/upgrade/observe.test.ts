// `compose config` output → what each service wants: Compose v1 and v2 write environment and labels as
// a map, and a list of KEY=value is read the same way.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CERT_MAX_BYTES, certificateOnHost, parseComposeConfig } from '../../../src/upgrade/observe.js';

describe('parseComposeConfig', () => {
  it('reads labels (map or list) beside image, environment and command', () => {
    const out = parseComposeConfig(`services:
  nginx:
    image: nginx:1
    environment: { A: "1", UNSET: null }
    labels: { dev.phase-compose.proxy-config-sha256: abc, dev.phase-compose.role: proxy }
    command: [nginx, -g, "daemon off;"]
  worker:
    image: app:1
    labels: ["x=1", "y=a=b"]
`);
    expect(out.nginx).toEqual({ image: 'nginx:1', environment: { A: '1' }, labels: { 'dev.phase-compose.proxy-config-sha256': 'abc', 'dev.phase-compose.role': 'proxy' }, command: ['nginx', '-g', 'daemon off;'] });
    expect(out.worker).toEqual({ image: 'app:1', environment: {}, labels: { x: '1', y: 'a=b' } });
  });
});

describe('certificateOnHost', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pc-cert-'));
  it('the sha256 of the file; a missing file or one over the bound is unknown, and the bound is not read past', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    writeFileSync(join(dir, 'cert.pem'), pem);
    expect(certificateOnHost(join(dir, 'cert.pem'))).toBe(createHash('sha256').update(pem).digest('hex'));
    expect(certificateOnHost(join(dir, 'missing.pem'))).toBeUndefined();
    writeFileSync(join(dir, 'at-bound.pem'), Buffer.alloc(CERT_MAX_BYTES, 0x41));
    expect(certificateOnHost(join(dir, 'at-bound.pem'))).toMatch(/^[0-9a-f]{64}$/);
    writeFileSync(join(dir, 'huge.pem'), Buffer.alloc(CERT_MAX_BYTES + 1, 0x41));
    expect(certificateOnHost(join(dir, 'huge.pem'))).toBeUndefined();
  });
  it('a FIFO or a directory at the path is unknown, at once (a FIFO once blocked the read)', () => {
    expect(spawnSync('mkfifo', [join(dir, 'fifo.pem')]).status).toBe(0);
    expect(certificateOnHost(join(dir, 'fifo.pem'))).toBeUndefined();
    expect(certificateOnHost(dir)).toBeUndefined();
  });
});
