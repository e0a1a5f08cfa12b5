// The generated nginx config on a real nginx (phase-compose-fixture-nginx: Debian's nginx-light): `nginx -t`
// accepts it, `phase-compose up` brings the proxy up in front of two backend replicas, and real requests
// flow through it to the backend and its database. Then what a running proxy does not see by itself: a
// changed config (up refuses, --recreate or upgrade make it anew, rollback brings the old one back) and a
// TLS certificate renewed by rename (served over HTTPS, compared by fingerprint).
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_LABEL } from './helpers/compose.js';
import { composeDown, containerId, psql, waitFor } from './helpers/docker.js';
import { formatLoad, runLoad } from './helpers/load.js';
import { run, runAsync } from './helpers/run.js';
import { NGINX_IMAGE, cliArgv, freeLoopbackPort, generateUpgradeStack, serviceContainers, stackEnv, type UpgradeStack } from './helpers/upgrade.js';

describe(`nginx fixture in front of the backend ${STACK_LABEL}`, () => {
  let stack: UpgradeStack;
  let nginx = '';

  beforeAll(async () => {
    stack = await generateUpgradeStack('nginx');
  });
  afterAll(() => {
    if (stack) {
      composeDown(stack);
      stack.cleanup();
    }
  });

  it('nginx -t accepts the generated config, mounted where the compose file mounts it', () => {
    const conf = `${stack.dir}/nginx/default.conf`;
    const r = run('docker', ['run', '--rm', '--network', 'none', '-v', `${conf}:/etc/nginx/conf.d/default.conf:ro`, NGINX_IMAGE, 'nginx', '-t']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('nginx: configuration file /etc/nginx/nginx.conf test is successful');
  });

  it('up brings nginx up healthy; nginx -t passes in the running container', async () => {
    const r = await runAsync('node', cliArgv(stack, 'up'), { env: stackEnv() });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    // up finished once its own run of the healthcheck passed; Docker's status follows at its next probe.
    const proxy = await waitFor('nginx healthy in Docker', () => serviceContainers(stack.project, 'nginx').find((c) => c.health === 'healthy'), 30_000);
    expect(proxy?.health).toBe('healthy');
    nginx = containerId(stack.project, 'nginx');
    const t = run('docker', ['exec', nginx, 'nginx', '-t']);
    expect(t.code, t.stderr).toBe(0);
    // The one server on 80 is the generated one: Debian's default site is gone.
    const dump = run('docker', ['exec', nginx, 'nginx', '-T']).stdout;
    expect(dump).toContain('# configuration file /etc/nginx/conf.d/default.conf:');
    expect(dump).not.toContain('sites-enabled/default');
  });

  it('real traffic flows through nginx to both backend replicas and writes the database', async () => {
    expect(nginx, 'up did not run').not.toBe('');
    const before = Number(psql(stack.project, 'SELECT count(*) FROM load_probe')[0]?.[0]);
    const result = await runLoad({ port: stack.port, rate: 50, durationMs: 4000 });
    console.log(`through nginx: ${formatLoad(result)}`);
    expect(result.failures).toEqual([]);
    expect(result.sent).toBe(200);
    expect(result.ok).toBe(200);
    expect(result.versions).toEqual({ v1: 200 });
    const after = Number(psql(stack.project, 'SELECT count(*) FROM load_probe')[0]?.[0]);
    expect(after - before).toBe(200);
    // nginx resolves `backend` through Docker's DNS (resolver 127.0.0.11) and balances over both replicas.
    const hosts = psql(stack.project, `SELECT legacy_note FROM load_probe ORDER BY id DESC LIMIT 200`).map((r) => r[0]!.split(' on ')[1]);
    expect(new Set(hosts).size).toBe(2);
    // Its access log goes to the container's stdout.
    const logs = run('docker', ['logs', '--since', '1m', nginx]);
    expect(logs.stdout).toMatch(/"GET \/load\/ HTTP\/1\.1" 200 /);
  });

  it('a changed proxy config reaches nginx: up refuses and names it, up --recreate runs it in a new container', async () => {
    expect(nginx, 'up did not run').not.toBe('');
    const conf = join(stack.dir, 'nginx/default.conf');
    const backends = serviceContainers(stack.project, 'backend').map((c) => c.id);
    const spec = readFileSync(stack.spec, 'utf8');
    writeFileSync(stack.spec, spec.replace(/^proxy:\n/m, 'proxy:\n  client_ip: { mode: header, header: X-Real-IP, trusted: [10.0.0.0/8] }\n'));
    const refused = await runAsync('node', cliArgv(stack, 'up'), { env: stackEnv() });
    expect(refused.code, `${refused.stdout}\n${refused.stderr}`).toBe(1);
    expect(refused.stderr).toMatch(/the stack is running and nginx \(config\) changed/);
    // The file was written again (atomically: a new inode). The running nginx, which mounts the file,
    // still reads the old one: this is why a changed config must be a changed container.
    expect(readFileSync(conf, 'utf8')).toContain('set_real_ip_from 10.0.0.0/8;');
    expect(run('docker', ['exec', nginx, 'cat', '/etc/nginx/conf.d/default.conf']).stdout).not.toContain('set_real_ip_from');
    const r = await runAsync('node', cliArgv(stack, 'up', '--recreate'), { env: stackEnv() });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const now = containerId(stack.project, 'nginx');
    expect(now).not.toBe(nginx);
    expect(run('docker', ['exec', now, 'cat', '/etc/nginx/conf.d/default.conf']).stdout).toBe(readFileSync(conf, 'utf8'));
    // Nothing else was recreated, and a second up finds nothing changed.
    expect(serviceContainers(stack.project, 'backend').map((c) => c.id)).toEqual(backends);
    const again = await runAsync('node', cliArgv(stack, 'up'), { env: stackEnv() });
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
    expect(containerId(stack.project, 'nginx')).toBe(now);
  });

  it('a spec edit upgraded without --to (after an up that refused) rolls back from the saved compose file: nginx reads its old config again', async () => {
    const conf = join(stack.dir, 'nginx/default.conf');
    const was = readFileSync(conf, 'utf8');
    expect(was, 'the test before did not run').toContain('set_real_ip_from 10.0.0.0/8;');
    const backends = serviceContainers(stack.project, 'backend').map((c) => c.id);
    writeFileSync(stack.spec, readFileSync(stack.spec, 'utf8').replace('trusted: [10.0.0.0/8]', 'trusted: [192.168.0.0/16]'));
    // An up that refuses has already written the spec's files: on disk they no longer say what runs.
    const refused = await runAsync('node', cliArgv(stack, 'up'), { env: stackEnv() });
    expect(refused.code, `${refused.stdout}\n${refused.stderr}`).toBe(1);
    expect(readFileSync(conf, 'utf8')).toContain('set_real_ip_from 192.168.0.0/16;');
    const up = await runAsync('node', cliArgv(stack, 'upgrade', '--yes'), { env: stackEnv() });
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    const upgraded = containerId(stack.project, 'nginx');
    expect(run('docker', ['exec', upgraded, 'cat', '/etc/nginx/conf.d/default.conf']).stdout).toContain('set_real_ip_from 192.168.0.0/16;');

    // Compose resolves the saved file's relative paths (.env, the config) in the stack's directory, and the
    // config the old nginx read is written back before its container is made again.
    const back = await runAsync('node', cliArgv(stack, 'rollback', '--yes'), { env: stackEnv() });
    expect(back.code, `${back.stdout}\n${back.stderr}`).toBe(0);
    expect(back.stdout).toContain('wrote the config the old proxy read back to');
    const rolled = containerId(stack.project, 'nginx');
    expect(rolled).not.toBe(upgraded);
    expect(run('docker', ['exec', rolled, 'cat', '/etc/nginx/conf.d/default.conf']).stdout).toBe(was);
    expect(readFileSync(conf, 'utf8')).toBe(was);
    expect(serviceContainers(stack.project, 'backend').map((c) => c.id)).toEqual(backends);
    // The spec still names the new config: up finds nginx changed again, by name.
    const again = await runAsync('node', cliArgv(stack, 'up'), { env: stackEnv() });
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(1);
    expect(again.stderr).toMatch(/nginx \(config\) changed/);
  });

  it('TLS: nginx serves the spec\'s certificate; one renewed by rename is found by up (a reload never sees it) and loaded by upgrade or up --recreate', async () => {
    expect(nginx, 'up did not run').not.toBe('');
    const tlsPort = await freeLoopbackPort();
    mkdirSync(join(stack.dir, 'tls'), { mode: 0o700 });
    const first = selfSigned('phase-compose-e2e-first');
    writeFileSync(join(stack.dir, 'tls/cert.pem'), first.cert);
    writeFileSync(join(stack.dir, 'tls/key.pem'), first.key, { mode: 0o600 });
    const spec = readFileSync(stack.spec, 'utf8');
    const published = `"127.0.0.1:${stack.port}:80"`;
    expect(spec).toContain(published);
    writeFileSync(stack.spec, spec
      .replace(published, `${published}, "127.0.0.1:${tlsPort}:443"`)
      .replace(/^proxy:\n/m, 'proxy:\n  tls: { cert: tls/cert.pem, key: tls/key.pem }\n'));
    const on = await runAsync('node', cliArgv(stack, 'upgrade', '--yes'), { env: stackEnv() });
    expect(on.code, `${on.stdout}\n${on.stderr}`).toBe(0);
    const served = await httpsGet(tlsPort, '/load/');
    expect(served.status).toBe(200);
    expect(served.fingerprint).toBe(first.fingerprint);

    // Renewed the way certbot and most ACME clients do it: new files, renamed over the old ones.
    const second = selfSigned('phase-compose-e2e-second');
    writeFileSync(join(stack.dir, 'tls/cert.pem.new'), second.cert);
    writeFileSync(join(stack.dir, 'tls/key.pem.new'), second.key, { mode: 0o600 });
    renameSync(join(stack.dir, 'tls/key.pem.new'), join(stack.dir, 'tls/key.pem'));
    renameSync(join(stack.dir, 'tls/cert.pem.new'), join(stack.dir, 'tls/cert.pem'));
    const proxy = containerId(stack.project, 'nginx');
    // The file mounted on its own is still the old one in the container: even a reload serves the old certificate.
    expect(run('docker', ['exec', proxy, 'nginx', '-s', 'reload']).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await httpsGet(tlsPort, '/load/')).fingerprint).toBe(first.fingerprint);
    const refused = await runAsync('node', cliArgv(stack, 'up'), { env: stackEnv() });
    expect(refused.code, `${refused.stdout}\n${refused.stderr}`).toBe(1);
    expect(refused.stderr).toMatch(/the stack is running and nginx \(certificate\) changed/);

    const renewed = await runAsync('node', cliArgv(stack, 'upgrade', '--yes'), { env: stackEnv() });
    expect(renewed.code, `${renewed.stdout}\n${renewed.stderr}`).toBe(0);
    expect(renewed.stdout + renewed.stderr).toMatch(/replace nginx \(certificate changed\)/);
    expect(containerId(stack.project, 'nginx')).not.toBe(proxy);
    const now = await httpsGet(tlsPort, '/load/');
    expect(now.status).toBe(200);
    expect(now.fingerprint).toBe(second.fingerprint);
    // And nothing is found changed afterwards.
    const again = await runAsync('node', cliArgv(stack, 'up'), { env: stackEnv() });
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);

    // up --recreate accepts the outage: the file Compose reads did not change, so the proxy is made anew by name.
    const third = selfSigned('phase-compose-e2e-third');
    writeFileSync(join(stack.dir, 'tls/cert.pem.new'), third.cert);
    writeFileSync(join(stack.dir, 'tls/key.pem.new'), third.key, { mode: 0o600 });
    renameSync(join(stack.dir, 'tls/key.pem.new'), join(stack.dir, 'tls/key.pem'));
    renameSync(join(stack.dir, 'tls/cert.pem.new'), join(stack.dir, 'tls/cert.pem'));
    const recreated = await runAsync('node', cliArgv(stack, 'up', '--recreate'), { env: stackEnv() });
    expect(recreated.code, `${recreated.stdout}\n${recreated.stderr}`).toBe(0);
    expect(recreated.stdout + recreated.stderr).toMatch(/read an older TLS certificate than the file on the host/);
    expect((await httpsGet(tlsPort, '/load/')).fingerprint).toBe(third.fingerprint);
  });
});

/** A throwaway self-signed certificate (P-256) made by openssl: PEM cert and key, and the cert's SHA-256 fingerprint. */
function selfSigned(cn: string): { cert: string; key: string; fingerprint: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pc-tls-'));
  try {
    const r = run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', `/CN=${cn}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    if (r.code !== 0) throw new Error(`openssl failed: ${r.stderr}`);
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    return { cert, key: readFileSync(join(dir, 'key.pem'), 'utf8'), fingerprint: new X509Certificate(cert).fingerprint256 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One HTTPS GET to 127.0.0.1 (the certificate is not checked: it is the thing compared): status and the served certificate's fingerprint. */
function httpsGet(port: number, path: string): Promise<{ status: number; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, agent: false, rejectUnauthorized: false, timeout: 10_000 }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, fingerprint }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from https://127.0.0.1:${port}${path} in 10 s`)));
    req.on('error', reject);
    req.end();
  });
}
