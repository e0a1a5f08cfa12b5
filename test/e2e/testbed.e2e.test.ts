// End-to-end: the generated fixture compose file on a real Docker Engine + Compose (the stack under test).
//  (a) `up -d` runs the migrations to completion before backend and worker start; backend becomes healthy.
//  (b) purge_app_logs deletes exactly the READ events older than the retention window, nothing else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK, STACK_LABEL, composeArgv } from './helpers/compose.js';
import {
  compose,
  composeAsync,
  composeDown,
  containerId,
  dockerTimeNs,
  execIn,
  inspectState,
  psql,
  uniqueProject,
  waitFor,
} from './helpers/docker.js';
import { run } from './helpers/run.js';
import { generateFixtureStack, type GeneratedStack } from './helpers/stack.js';

describe(`fixture stack from the generated compose file ${STACK_LABEL}`, () => {
  let stack: GeneratedStack;
  let upOutput = '';

  beforeAll(async () => {
    stack = generateFixtureStack('testbed');
    // Make sure no fault switch leaks in from the caller's environment.
    const r = await composeAsync(stack, ['up', '-d'], {
      FIXTURE_FAIL_MIGRATION: '',
      FIXTURE_SLOW_MIGRATION_S: '',
      FIXTURE_NEVER_HEALTHY: '',
    });
    upOutput = `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
    if (r.code !== 0) {
      const logs = compose(stack, ['logs', '--no-color', '--tail', '50']);
      throw new Error(`compose up -d failed: ${upOutput}\n--- logs ---\n${logs.stdout}${logs.stderr}`);
    }
  });

  afterAll(() => {
    if (stack) {
      composeDown(stack);
      stack.cleanup();
    }
  });

  it('runs migrations to completion before backend and worker start, then backend becomes healthy', async () => {
    const migrations = inspectState(containerId(stack.project, 'migrations'));
    expect(migrations.Running, upOutput).toBe(false);
    expect(migrations.ExitCode).toBe(0);
    const finished = dockerTimeNs(migrations.FinishedAt);

    for (const service of ['backend', 'worker']) {
      const st = inspectState(containerId(stack.project, service));
      expect(st.Running, `${service} should be running`).toBe(true);
      expect(dockerTimeNs(st.StartedAt) > finished, `${service} started after migrations finished`).toBe(true);
    }

    const backend = containerId(stack.project, 'backend');
    const health = await waitFor(
      'backend to become healthy',
      () => {
        const s = inspectState(backend).Health?.Status;
        if (s === 'unhealthy') throw new Error('backend became unhealthy');
        return s === 'healthy' ? s : '';
      },
      120_000,
    );
    expect(health).toBe('healthy');

    // The pre-deploy phase applied the api migrations; the backend answers /health/ regardless of Host.
    const applied = psql(stack.project, "SELECT count(*) FROM django_migrations WHERE app = 'api'");
    expect(Number(applied[0]?.[0])).toBeGreaterThanOrEqual(3);
    const h = execIn(stack.project, 'backend', [
      'curl', '-fsS', '-H', 'Host: not-allowed.example', 'http://127.0.0.1:8000/health/',
    ]);
    expect(h.code, h.stderr).toBe(0);
    expect(JSON.parse(h.stdout)).toMatchObject({ status: 'alive' });
  });

  it('healthchecks probe every second while starting where the stack supports start_interval (Compose >= 2.20.2, Engine >= 25)', () => {
    const hc = JSON.parse(run('docker', ['inspect', '-f', '{{json .Config.Healthcheck}}', containerId(stack.project, 'backend')]).stdout) as { StartInterval?: number; Interval?: number };
    if (STACK === 'v2') expect(hc.StartInterval).toBe(1_000_000_000);
    else expect(hc.StartInterval ?? 0).toBe(0);
  });

  it('carries the spec\'s name as the Compose project name where the stack reads a top-level name (v2)', () => {
    const [cmd, ...pre] = composeArgv();
    // No -p: the name comes from the file alone (Compose v1 takes the directory's name instead).
    const r = run(cmd!, [...pre, '-f', stack.composeFile, 'config'], { cwd: stack.dir });
    expect(r.code, r.stderr).toBe(0);
    if (STACK === 'v2') expect(r.stdout).toMatch(/^name: fixture$/m);
    else expect(r.stdout).not.toMatch(/^name:/m);
  });

  it('ran both migration phases: nothing pending, the post-deploy migration dropped the legacy column', () => {
    for (const phase of ['pre', 'post']) {
      const r = execIn(stack.project, 'backend', ['python', 'manage.py', 'migrate_phase', phase, '--check']);
      expect(r.code, `${phase}: ${r.stdout}${r.stderr}`).toBe(0);
    }
    const check = execIn(stack.project, 'backend', ['python', 'manage.py', 'migrate', '--check']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const legacy = psql(
      stack.project,
      "SELECT count(*) FROM information_schema.columns WHERE table_name = 'api_secret' AND column_name = 'legacy_value'",
    );
    expect(legacy).toEqual([['0']]);
  });

  it('purge_app_logs deletes exactly the READ events older than --retain days', () => {
    const org = 'e2e-purge-org';
    const seed = execIn(stack.project, 'backend', [
      'python', 'manage.py', 'seed_events', org, '--count', '20000', '--days', '60',
    ]);
    expect(seed.code, seed.stderr).toBe(0);
    expect(seed.stdout).toContain('Seeded 20000 events');

    // Keep the retention boundary unambiguous: no event within one hour of now() - 30 days, so the few seconds
    // between our counts and the command's own cutoff cannot change the expected result.
    psql(
      stack.project,
      `UPDATE api_secretevent SET timestamp = timestamp - interval '2 hours'
        WHERE timestamp BETWEEN now() - interval '30 days' - interval '1 hour'
                            AND now() - interval '30 days' + interval '1 hour'`,
    );

    const countSql = `SELECT event_type,
        count(*) FILTER (WHERE timestamp <= now() - interval '30 days') AS old,
        count(*) FILTER (WHERE timestamp >  now() - interval '30 days') AS recent
      FROM api_secretevent e JOIN api_environment env ON env.id = e.environment_id
      JOIN api_app a ON a.id = env.app_id JOIN api_organisation o ON o.id = a.organisation_id
      WHERE o.name = '${org}' GROUP BY event_type ORDER BY event_type`;
    const snapshot = (): Record<string, { old: number; recent: number }> =>
      Object.fromEntries(
        psql(stack.project, countSql).map(([t, old, recent]) => [t!, { old: Number(old), recent: Number(recent) }]),
      );

    const before = snapshot();
    expect(Object.keys(before).sort()).toEqual(['C', 'D', 'R', 'U']);
    const total = Object.values(before).reduce((n, c) => n + c.old + c.recent, 0);
    expect(total).toBe(20000);
    expect(before.R!.old).toBeGreaterThan(0);
    expect(before.R!.recent).toBeGreaterThan(0);

    const purge = execIn(stack.project, 'backend', [
      'python', 'manage.py', 'purge_app_logs', org, '--retain', '30', '--sleep-ms', '0', '--batch-size', '1000',
    ]);
    expect(purge.code, purge.stderr).toBe(0);
    expect(purge.stdout).toMatch(new RegExp(`Log deletion completed: ${before.R!.old} rows in [0-9.]+s\\.`));

    const after = snapshot();
    expect(after).toEqual({
      ...before,
      R: { old: 0, recent: before.R!.recent },
    });
  });

  it('purge_app_logs fails with a CommandError for an unknown organisation', () => {
    const r = execIn(stack.project, 'backend', ['python', 'manage.py', 'purge_app_logs', 'no-such-org']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Organisation 'no-such-org' not found");
  });
});

describe(`fixture fault switches ${STACK_LABEL}`, () => {
  it('FIXTURE_FAIL_MIGRATION=1 (+ FIXTURE_SLOW_MIGRATION_S=2): migrations exit 1 with the message, backend never starts', async () => {
    const stack = generateFixtureStack('faults');
    try {
      const up = await composeAsync(stack, ['up', '-d'], {
        FIXTURE_FAIL_MIGRATION: '1',
        FIXTURE_SLOW_MIGRATION_S: '2',
        FIXTURE_NEVER_HEALTHY: '',
      });
      expect(up.code).not.toBe(0);
      const m = inspectState(containerId(stack.project, 'migrations'));
      expect(m.Running).toBe(false);
      expect(m.ExitCode).toBe(1);
      expect(dockerTimeNs(m.FinishedAt) - dockerTimeNs(m.StartedAt)).toBeGreaterThanOrEqual(2_000_000_000n);
      const logs = compose(stack, ['logs', '--no-color', 'migrations']);
      expect(logs.stdout + logs.stderr).toContain('fixture: migration failed on purpose');
      for (const service of ['backend', 'worker']) {
        const r = run('docker', [
          'ps', '--filter', `label=com.docker.compose.project=${stack.project}`,
          '--filter', `label=com.docker.compose.service=${service}`, '-q',
        ]);
        expect(r.stdout.trim(), `${service} must not be running`).toBe('');
      }
      // The failed migration was rolled back: api.0003 is not recorded, so it runs again next time.
      const rows = psql(stack.project, "SELECT count(*) FROM django_migrations WHERE app = 'api' AND name LIKE '0003%'");
      expect(rows).toEqual([['0']]);
    } finally {
      composeDown(stack);
      stack.cleanup();
    }
  });

  it('FIXTURE_NEVER_HEALTHY=1: /health/ answers 503', async () => {
    const name = uniqueProject('neverhealthy');
    const started = run('docker', [
      'run', '-d', '--name', name, '--label', `com.docker.compose.project=${name}`,
      '-e', 'FIXTURE_NEVER_HEALTHY=1', '-e', 'EXTERNAL_MIGRATION=true',
      'phase-compose-fixture-app:latest',
    ]);
    try {
      expect(started.code, started.stderr).toBe(0);
      const code = await waitFor('gunicorn to answer', () => {
        const r = run('docker', ['exec', name, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:8000/health/']);
        return r.stdout !== '000' && r.stdout !== '' ? r.stdout : '';
      }, 60_000);
      expect(code).toBe('503');
    } finally {
      composeDown(name);
    }
  });
});
