// The proxy's TLS files travel in the archive (until 2026-11-29 they did not, and `restore --dir` of a
// stack `init` made, TLS on by default, restored the data and then failed to start nginx).
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FORMAT, parseMeta, type BackupMeta } from '../../../src/backup/archive.js';
import { stackMembers } from '../../../src/backup/archive-backup.js';
import { missingTlsFiles, writeStackFromArchive } from '../../../src/backup/archive-restore.js';
import { loadSpec } from '../../../src/spec/load.js';

const root = mkdtempSync(join(tmpdir(), 'pc-tls-members-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const spec = (tls: string) => `name: p
env_file: .env
services:
  web:
    image: "app:1"
    healthcheck: { http: { port: 8000, path: / } }
proxy:
  image: "nginx:1"
  config: nginx/default.conf
  ports: ["443:443"]
  routes: [{ path: /, to: "web:8000" }]
  tls: ${tls}
`;
const stack = (dir: string, tls: string) => {
  mkdirSync(join(dir, 'nginx', 'tls'), { recursive: true });
  writeFileSync(join(dir, 'phase-compose.yaml'), spec(tls));
  writeFileSync(join(dir, '.env'), 'SECRET_KEY=k\n');
  writeFileSync(join(dir, 'nginx', 'tls', 'cert.pem'), 'CERT\n');
  writeFileSync(join(dir, 'nginx', 'tls', 'key.pem'), 'KEY\n', { mode: 0o600 });
  const file = join(dir, 'phase-compose.yaml');
  return { project: 'p', spec: loadSpec(file).spec, specFile: file, specDir: dir };
};

describe('the proxy\'s TLS files in the archive', () => {
  it('are members when beside the spec, the key marked secret; restore --dir writes the key 0600', () => {
    const dir = join(root, 'a');
    const m = stackMembers(stack(dir, '{ cert: nginx/tls/cert.pem, key: nginx/tls/key.pem }'));
    expect(m.tls).toEqual({ files: ['nginx/tls/cert.pem', 'nginx/tls/key.pem'], secret: ['nginx/tls/key.pem'], outside: [] });
    const files = new Map(m.files.map(([n, b]) => [n, b]));
    expect(files.get('nginx/tls/key.pem')?.toString()).toBe('KEY\n');
    expect(files.get('nginx/tls/cert.pem')?.toString()).toBe('CERT\n');

    const meta: BackupMeta = { format: FORMAT, created: '2026-11-29T00:00:00.000Z', project: 'p', spec: m.spec, env: m.env, generated: m.generated, tls: m.tls!, postgres: { version: '15', database: 'p' }, images: [], migrations: [] };
    expect(parseMeta(JSON.stringify(meta)).tls).toEqual(m.tls);
    const to = join(root, 'a-restored');
    writeStackFromArchive(to, { meta, files, manifest: { format: FORMAT, members: [], dump: { bytes: 0, sha256: '', chunks: 0 } }, encrypted: true });
    expect(statSync(join(to, 'nginx', 'tls', 'key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(to, 'nginx', 'tls', 'cert.pem')).mode & 0o777).toBe(0o644);
    expect(missingTlsFiles(to, { cert: 'nginx/tls/cert.pem', key: 'nginx/tls/key.pem' })).toEqual([]);
  });

  it('outside the spec\'s directory they are named, not archived; restore --dir finds them missing', () => {
    const dir = join(root, 'b');
    const outside = join(root, 'letsencrypt');
    mkdirSync(outside);
    writeFileSync(join(outside, 'fullchain.pem'), 'CERT\n');
    const m = stackMembers(stack(dir, `{ cert: ${join(outside, 'fullchain.pem')}, key: nginx/tls/key.pem }`));
    expect(m.tls).toEqual({ files: ['nginx/tls/key.pem'], secret: ['nginx/tls/key.pem'], outside: [join(outside, 'fullchain.pem')] });
    expect(m.files.map(([n]) => n)).not.toContain(join(outside, 'fullchain.pem'));
    expect(missingTlsFiles(join(root, 'elsewhere'), { cert: join(root, 'gone', 'fullchain.pem'), key: 'nginx/tls/key.pem' })).toEqual([
      `the proxy's TLS certificate ${join(root, 'gone', 'fullchain.pem')} does not exist`,
      `the proxy's TLS key ${join(root, 'elsewhere', 'nginx', 'tls', 'key.pem')} does not exist`,
    ]);
    expect(missingTlsFiles(root, { cert: 'letsencrypt', key: 'letsencrypt/fullchain.pem' })).toEqual([`the proxy's TLS certificate ${join(root, 'letsencrypt')} is a directory, not a file`]);
    expect(missingTlsFiles(root, undefined)).toEqual([]);
  });

  it('a TLS file named by an absolute path, or that cannot be read, is left out and named, never failing the backup', () => {
    // A root-only key (or a link into /etc/letsencrypt) never failed a backup before these files travelled.
    const dir = join(root, 'c');
    const st = stack(dir, '{ cert: nginx/tls/cert.pem, key: nginx/tls/gone.pem }');
    expect(stackMembers(st).tls).toEqual({ files: ['nginx/tls/cert.pem'], secret: [], outside: [join(dir, 'nginx/tls/gone.pem')] });
    // Absolute, even inside the spec's directory: the restored spec names that path, so it is not archived.
    const abs = stack(join(root, 'd'), `{ cert: ${join(root, 'd', 'nginx/tls/cert.pem')}, key: nginx/tls/key.pem }`);
    expect(stackMembers(abs).tls).toEqual({ files: ['nginx/tls/key.pem'], secret: ['nginx/tls/key.pem'], outside: [join(root, 'd', 'nginx/tls/cert.pem')] });
  });

  it('an archive\'s meta with a malformed tls field is refused; one without it (older) is read', () => {
    const base = { format: FORMAT, created: 'x', project: 'p', spec: 's', env: { files: [] }, generated: [], postgres: { version: '15', database: 'p' }, images: [], migrations: [] };
    expect(parseMeta(JSON.stringify(base)).tls).toBeUndefined();
    expect(() => parseMeta(JSON.stringify({ ...base, tls: { files: [1], secret: [], outside: [] } }))).toThrow(/lacks fields/);
    expect(() => parseMeta(JSON.stringify({ ...base, tls: [] }))).toThrow(/lacks fields/);
  });
});
