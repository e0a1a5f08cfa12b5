// The generated nginx config on a real nginx (phase-compose-fixture-nginx: Debian's nginx-light): `nginx -t`
// accepts it, `phase-compose up` brings the proxy up in front of two backend replicas, and real requests
// flow through it to the backend and its database.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_LABEL } from './helpers/compose.js';
import { composeDown, containerId, psql, waitFor } from './helpers/docker.js';
import { formatLoad, runLoad } from './helpers/load.js';
import { run, runAsync } from './helpers/run.js';
import { NGINX_IMAGE, cliArgv, generateUpgradeStack, serviceContainers, stackEnv, type UpgradeStack } from './helpers/upgrade.js';

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
});
