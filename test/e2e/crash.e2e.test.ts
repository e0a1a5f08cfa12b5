// Crash safety: `up` killed with SIGKILL while its migration runs, then `up` again with the migration's
// config changed. The lock is the kernel's (it ends with the killed process), and the running migration
// is waited for, never replaced or killed, before Compose may recreate its container.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STACK_LABEL } from './helpers/compose.js';
import { uniqueProject } from './helpers/docker.js';
import { runAsync } from './helpers/run.js';
import { copyFixtureSpec } from './helpers/stack.js';

const cli = join(import.meta.dirname, '../../dist/cli.js');
const projects: string[] = [];
afterAll(() => {
  for (const p of projects) {
    const dir = mkdtempSync(join(tmpdir(), 'pc-crash-down-'));
    copyFixtureSpec(dir);
    spawnSync('node', [cli, 'generate', '-q', '-f', join(dir, 'phase-compose.yaml')]);
    spawnSync('node', [cli, '-f', join(dir, 'phase-compose.yaml'), '-p', p, 'down', '-v']);
  }
});

/** "service action exitCode" lines of the project's containers, from Docker events. */
function events(project: string, since: number): string[] {
  const r = spawnSync('docker', ['events', '--since', String(Math.floor(since / 1000) - 1), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'type=container', '--format', '{{index .Actor.Attributes "com.docker.compose.service"}} {{.Action}} {{.Actor.ID}} {{index .Actor.Attributes "exitCode"}}'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l && !l.includes(' exec_'));
}

describe(`crash safety ${STACK_LABEL}`, () => {
  it('kill -9 during a migration, then up with the migration changed: the lock is taken over, the migration is waited for, not restarted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-crash-'));
    const spec = copyFixtureSpec(dir);
    const p = uniqueProject('crash');
    projects.push(p);
    const t = Date.now();
    const first = spawn('node', [cli, '-f', spec, '-p', p, 'up'], { env: { ...process.env, FIXTURE_SLOW_MIGRATION_S: '8' } });
    let out = '';
    first.stdout.on('data', (b) => (out += b));
    const exited = once(first, 'exit');
    const deadline = Date.now() + 90_000;
    while (!/migrations +running/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(out).toMatch(/migrations +running/);
    first.kill('SIGKILL');
    await exited;

    // A different value: Compose would recreate the migrations container (killing the migration) if asked now.
    const second = await runAsync('node', [cli, '-f', spec, '-p', p, 'up'], { env: { ...process.env, FIXTURE_SLOW_MIGRATION_S: '1' } });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/migrations: a migration from an earlier run is still running in \S+; waiting for it to end before anything replaces it \(it is never stopped\)/);
    expect(second.stdout).toContain("migrations: the earlier run's migration completed (exit 0)");

    const ev = events(p, t).filter((l) => l.startsWith('migrations '));
    const firstId = ev.find((l) => l.startsWith('migrations start '))!.split(' ')[2]!;
    const of = ev.filter((l) => l.split(' ')[2] === firstId).map((l) => l.split(' ').slice(0, 2).join(' ') + (l.includes(' die ') ? ` ${l.split(' ')[3]}` : ''));
    // The first run's migration ran to its end (exit 0) and was never killed; only then was it replaced.
    expect(of.filter((l) => / (kill|stop)$/.test(l))).toEqual([]);
    expect(of.indexOf('migrations die 0')).toBeGreaterThan(of.indexOf('migrations start'));
    if (of.includes('migrations destroy')) expect(of.indexOf('migrations destroy')).toBeGreaterThan(of.indexOf('migrations die 0'));
  });
});
