// End-to-end: `phase-compose exec` on the fixture stack with 1,000,000 seeded audit events.
//  - purge removes exactly the READ events of the org at or before the app's cutoff, nothing else (checked by SQL
//    against a snapshot taken before), the size report shows the change, --dry-run changes nothing;
//  - org names with spaces, quotes and semicolons pass through verbatim; an unknown org exits 7 with a clear error;
//  - sso and reset-network-policies run the app's commands; a stopped stack gives a clear error.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_LABEL } from './helpers/compose.js';
import { composeAsync, composeDown, containerId, psql, waitFor } from './helpers/docker.js';
import { run, runAsync, startWatched, type RunResult } from './helpers/run.js';
import { CLI, generateFixtureStack, type GeneratedStack } from './helpers/stack.js';

const ORG = `Acme; rm -rf / O'Brien "Labs"`;
const OTHER = 'Other Org';

/** Adds a test-only `seed` task (a generic task with typed parameters) to the copied fixture spec. */
export function augmentSpec(specFile: string): void {
  let s = readFileSync(specFile, 'utf8');
  // The fixture declares the phase template's tasks (purge with kind and report, sso, reset).
  if (!s.includes('kind: phase-purge') || !s.includes('kind: phase-sso')) throw new Error('fixture spec changed: no phase-purge/phase-sso tasks');
  s += `  seed:
    service: backend
    argv: [python, manage.py, seed_events, "{org}", --count, "{count}", --days, "{days}"]
    params:
      org: { type: string, required: true }
      count: { type: integer, required: true }
      days: { type: integer, default: 60 }
`;
  writeFileSync(specFile, s);
}

describe(`phase-compose exec on the fixture stack ${STACK_LABEL}`, () => {
  let stack: GeneratedStack;
  let spec: string;
  const cli = (args: string[]): Promise<RunResult> => runAsync('node', [CLI, '-f', spec, '-p', stack.project, ...args], { cwd: stack.dir });
  const count = (sql: string) => Number(psql(stack.project, sql)[0]![0]);

  beforeAll(async () => {
    stack = generateFixtureStack('exec');
    spec = join(stack.dir, 'phase-compose.yaml');
    augmentSpec(spec);
    const up = await composeAsync(stack, ['up', '-d'], { FIXTURE_FAIL_MIGRATION: '', FIXTURE_SLOW_MIGRATION_S: '', FIXTURE_NEVER_HEALTHY: '' });
    if (up.code !== 0) throw new Error(`compose up -d failed:\n${up.stdout}\n${up.stderr}`);
    for (const [org, n] of [[ORG, 1_000_000], [OTHER, 20_000]] as const) {
      const r = await runAsync('docker', ['exec', containerId(stack.project, 'backend'), 'python', 'manage.py', 'seed_events', org, '--count', String(n), '--days', '60']);
      if (r.code !== 0) throw new Error(`seed_events failed: ${r.stdout}${r.stderr}`);
    }
  });

  afterAll(() => {
    if (stack) {
      composeDown(stack);
      stack.cleanup();
    }
  });

  it('--dry-run counts the READ events older than the cutoff and deletes nothing', async () => {
    const total = count('SELECT count(*) FROM api_secretevent');
    expect(total).toBe(1_020_000);
    const r = await cli(['exec', 'purge', ORG, '--retain', '30', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    const n = Number(/would delete (\d+) READ events/.exec(r.stdout)?.[1]);
    // 40% READ, half of 60 days older than 30 days: 200,000 (a few may cross the boundary while the test runs).
    expect(Math.abs(n - 200_000)).toBeLessThan(50);
    expect(r.stdout).toContain('size of api_secretevent:');
    expect(count('SELECT count(*) FROM api_secretevent')).toBe(total);
  });

  it('an unknown organisation or app is a clear error with exit 7, and nothing runs', async () => {
    const r = await cli(['exec', 'purge', 'No Such Org', '--retain', '30']);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('phase-compose: organisation "No Such Org" does not exist');
    // A name that starts with - is named as --org=NAME (until 2026-11-29 it could not be named at all).
    const dash = await cli(['exec', 'purge', '--org=-h', '--retain', '30']);
    expect(dash.code, dash.stderr).toBe(7);
    expect(dash.stderr).toContain('phase-compose: organisation "-h" does not exist');
    const a = await cli(['exec', 'purge', ORG, '--app-id', 'nope']);
    expect(a.code).toBe(7);
    expect(a.stderr).toContain('app "nope" is not an app of organisation');
    expect(count('SELECT count(*) FROM api_secretevent')).toBe(1_020_000);
  });

  it('purge deletes exactly the READ events of the org at or before the cutoff, and reports the size change', async () => {
    psql(stack.project, 'CREATE TABLE snap AS SELECT e.id, e.event_type, e.timestamp, o.name AS org FROM api_secretevent e JOIN api_environment v ON v.id = e.environment_id JOIN api_app a ON a.id = v.app_id JOIN api_organisation o ON o.id = a.organisation_id');
    const r = await cli(['exec', 'purge', ORG, '--retain', '30', '--sleep-ms', '0', '--batch-size', '20000', '--vacuum']);
    expect(r.code, r.stderr).toBe(0);
    const cutoff = /timestamp <= ([0-9T:.+-]+)\)/.exec(r.stdout)?.[1];
    expect(cutoff, r.stdout).toBeTruthy();
    const deleted = Number(/Log deletion completed: (\d+) rows/.exec(r.stdout)?.[1]);
    psql(stack.project, `CREATE TABLE expect_gone AS SELECT id FROM snap WHERE org = '${ORG.replace(/'/g, "''")}' AND event_type = 'R' AND timestamp <= '${cutoff}'::timestamptz`);
    const expected = count('SELECT count(*) FROM expect_gone');
    expect(Math.abs(expected - 200_000)).toBeLessThan(50);
    expect(deleted).toBe(expected);
    // Every row expected gone is gone; every other row is still there.
    expect(count('SELECT count(*) FROM expect_gone g JOIN api_secretevent e USING (id)')).toBe(0);
    expect(count('SELECT count(*) FROM snap s LEFT JOIN expect_gone g USING (id) JOIN api_secretevent e USING (id) WHERE g.id IS NULL')).toBe(1_020_000 - expected);
    expect(count('SELECT count(*) FROM api_secretevent')).toBe(1_020_000 - expected);
    // The size report: before and after, live rows down by about the deleted count (VACUUM ANALYZE refreshed the stats).
    expect(r.stdout).toContain('VACUUM (ANALYZE) api_secretevent');
    const live = /live rows\s+(\d+) ->\s+(\d+)/.exec(r.stdout);
    expect(live, r.stdout).toBeTruthy();
    expect(Math.abs(Number(live![1]) - Number(live![2]) - expected)).toBeLessThan(expected * 0.05);
    // A second dry run finds nothing left to delete.
    const again = await cli(['exec', 'purge', ORG, '--retain', '30', '--dry-run']);
    expect(Number(/would delete (\d+)/.exec(again.stdout)?.[1])).toBeLessThan(50);
  });

  it('Ctrl-C during a purge (and npx\'s copy of it) stops the purge in its container: the batches done stay done, nothing more goes, no VACUUM, exit 130', async () => {
    // Before, Ctrl-C killed phase-compose and the purge ran on in the container, deleting batch after batch.
    const reads = () => count(`SELECT count(*) FROM api_secretevent e JOIN api_environment v ON v.id = e.environment_id JOIN api_app a ON a.id = v.app_id JOIN api_organisation o ON o.id = a.organisation_id WHERE o.name = '${OTHER}' AND e.event_type = 'R'`);
    const before = reads();
    expect(before).toBeGreaterThan(5000);
    const purging = () => run('docker', ['top', containerId(stack.project, 'backend')]).stdout.includes('purge_app_logs');
    // 100 rows a batch, 300 ms apart: about 25 s for all of them.
    const p = startWatched('node', [CLI, '-f', spec, '-p', stack.project, 'exec', 'purge', OTHER, '--retain', '0', '--batch-size', '100', '--sleep-ms', '300', '--vacuum'], { cwd: stack.dir });
    await waitFor('the first batches', () => reads() <= before - 300, 60_000, 100);
    p.child.kill('SIGINT');
    // A copy of it 50 ms later, as `npx` and `npm run` pass a terminal's Ctrl-C on: not a second Ctrl-C
    // (until 2026-11-29 it sent SIGKILL to the purge).
    await new Promise((r) => setTimeout(r, 50));
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(130);
    expect(p.err()).toContain('SIGINT: passing it to what runs in the container');
    expect(p.err()).not.toContain('sending SIGKILL');
    expect(p.err()).toMatch(/interrupted: task "purge" got SIGINT in \S+ and ended/);
    expect(p.err()).toContain('the batches it deleted stay deleted');
    expect(purging()).toBe(false);
    const left = reads();
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(before);
    await new Promise((r) => setTimeout(r, 1500)); // a purge still running deletes 500 more rows in this time
    expect(reads()).toBe(left);
    expect(p.out()).not.toContain('VACUUM');
  });

  it('Ctrl-C during the VACUUM FULL after a purge has the server cancel it (the table is not left locked): exit 130', async () => {
    // Before, Ctrl-C killed phase-compose and the VACUUM FULL went on in the server, the table locked.
    const vacuuming = () => count("SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'VACUUM%' AND pid <> pg_backend_pid()") > 0;
    // Nothing is old enough to go; the VACUUM FULL rewrites the whole table (several seconds on the test bed).
    const p = startWatched('node', [CLI, '-f', spec, '-p', stack.project, 'exec', 'purge', OTHER, '--retain', '100000', '--vacuum-full', '--yes'], { cwd: stack.dir });
    await waitFor('the VACUUM to run', () => p.out().includes('VACUUM FULL ANALYZE') && vacuuming(), 60_000, 50);
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(130);
    expect(p.err()).toMatch(/interrupted: the VACUUM got SIGINT in the postgres container and ended \(exit [1-9]/);
    expect(p.err()).toContain('the server cancelled the VACUUM');
    expect(vacuuming()).toBe(false);
    expect(p.out()).toContain('live rows'); // the size report still came
  });

  it('--vacuum-full asks first and refuses without a terminal unless --yes', async () => {
    const r = await cli(['exec', 'purge', OTHER, '--retain', '59', '--sleep-ms', '0', '--vacuum-full']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pass --yes to confirm');
    const y = await cli(['exec', 'purge', OTHER, '--retain', '59', '--sleep-ms', '0', '--vacuum-full', '--yes']);
    expect(y.code, y.stderr).toBe(0);
    expect(y.stdout).toContain('VACUUM FULL ANALYZE api_secretevent');
  });

  it('sso passes odd organisation names verbatim and checks they exist', async () => {
    const r = await cli(['exec', 'sso', '--org', ORG, '--show']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Organisation: ${ORG}`);
    const d = await cli(['exec', 'sso', '--org', ORG, '--disable-enforcement']);
    expect(d.stdout).toContain(`SSO enforcement disabled for '${ORG}'.`);
    const u = await cli(['exec', 'sso', '--org', 'Nobody', '--show']);
    expect(u.code).toBe(7);
  });

  it('organisation names that start with "-" reach the app as names', async () => {
    // Until 2026-11-29 the template put {org} where Django's parser reads options: an organisation
    // named -h printed the command's help, and phase-compose reported success. (purge's own <org> is a
    // positional on phase-compose's command line, which takes no such name: the argv rule is unit-tested.)
    for (const name of ['-h', '--settings=nope']) {
      psql(stack.project, `INSERT INTO api_organisation (id, name, require_sso, created_at) VALUES ('dash${name.length}', '${name}', true, now())`);
      // On phase-compose's own command line such a name goes as --org=NAME, or after "--".
      const show = await cli(['exec', 'sso', `--org=${name}`, '--show']);
      expect(show.code, show.stderr).toBe(0);
      expect(show.stdout).toContain(`Organisation: ${name}`);
    }
    // An empty --app-id (an unset variable) is refused before anything runs, not read as "every app".
    const empty = await cli(['exec', 'purge', ORG, '--app-id', '', '--retain', '0']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('parameter "app_id" is empty');
  });

  it('reset-network-policies reports how many policies changed', async () => {
    const orgId = psql(stack.project, `SELECT id FROM api_organisation WHERE name = 'Other Org'`)[0]![0];
    psql(stack.project, `INSERT INTO api_networkaccesspolicy (id, organisation_id, name, allowed_ips, is_global) VALUES ('p1', '${orgId}', 'a', '', true), ('p2', '${orgId}', 'b', '', true), ('p3', '${orgId}', 'c', '', false)`);
    const r = await cli(['exec', 'reset-network-policies']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('network access policies: 2 of 3 changed');
    expect(count('SELECT count(*) FROM api_networkaccesspolicy WHERE is_global')).toBe(0);
  });

  it('run passes argv verbatim and exits with its code; a generic task takes --name value', async () => {
    const r = await cli(['exec', 'run', 'backend', '--', 'python', '-c', 'import sys; print(sys.argv[1:]); sys.exit(3)', 'a b', `c;d'"`]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(`['a b', 'c;d\\'"']`);
    const g = await cli(['exec', 'seed', 'Third Org', '--count', '1000']);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout).toContain(`Seeded 1000 events for 'Third Org' over 60 days`);
  });

  it('run passes its words as typed: numbers are not parsed', async () => {
    // Until 2026-11-28 yargs made numbers of them: this ran echo 16 1000 1.5 5 007.
    const r = await cli(['exec', 'run', 'backend', '--', 'echo', '0x10', '1e3', '1.50', '5.', '007']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('0x10 1e3 1.50 5. 007');
  });

  it.each(['SIGTERM', 'SIGHUP'] as const)('%s to exec shell goes to its docker exec: both end, exit 130', async (sig) => {
    // Until 2026-11-28 the signal killed phase-compose at once and left its docker exec on the terminal.
    const p = startWatched('node', [CLI, '-f', spec, '-p', stack.project, 'exec', 'shell', 'backend'], { cwd: stack.dir });
    await waitFor('the shell', () => p.err().includes(': sh in '), 60_000, 100);
    const kids = () => run('pgrep', ['-P', String(p.child.pid)]).stdout.split('\n').filter(Boolean);
    await waitFor('its docker exec', () => kids().length > 0, 10_000, 50);
    const execs = kids();
    p.child.kill(sig);
    expect(await p.exited).toBe(130);
    expect(p.err()).toContain("interrupted: the shell's docker exec was given the signal and has ended");
    for (const pid of execs) expect(run('kill', ['-0', pid]).code, `docker exec ${pid} still runs`).not.toBe(0);
  });

  it('a stack that is not running and an unknown service are clear errors', async () => {
    const r = run('node', [CLI, '-f', spec, '-p', `${stack.project}-none`, 'exec', 'purge', ORG], { cwd: stack.dir });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('is not running');
    const s = await cli(['exec', 'run', 'nosuch', '--', 'true']);
    expect(s.code).toBe(4);
    expect(s.stderr).toContain('has no service "nosuch"');
  });
});
