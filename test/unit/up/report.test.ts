import { describe, expect, it } from 'vitest';
import { failureReport, lastLines, standingReport } from '../../../src/up/report.js';
import { formatRow, plainRenderer, jsonRenderer, ttyRenderer } from '../../../src/up/progress.js';
import { mixedImages, statusRows, statusTable } from '../../../src/up/status.js';
import { buildPlan } from '../../../src/up/plan.js';
import { specOf, y } from '../helpers.js';

describe('failureReport', () => {
  it('names the service, exit code, output and the docker logs command', () => {
    const text = failureReport({
      service: 'migrations', container: 'fx_migrations_1', what: 'exited with code 1', exitCode: 1,
      logs: 'Applying api.0001... \nRuntimeError: boom\n', blocked: ['backend', 'worker'], kept: true,
    });
    expect(text).toBe([
      '✗ migrations (fx_migrations_1) exited with code 1',
      '  exit code: 1',
      '  last 2 lines of output:',
      '    Applying api.0001...',
      '    RuntimeError: boom',
      '  full output: docker logs fx_migrations_1',
      '  not started (they wait on migrations): backend, worker',
      '  the container is kept for inspection: docker inspect fx_migrations_1',
    ].join('\n'));
  });

  it('shows the health log, newest last', () => {
    const text = failureReport({
      service: 'backend', container: 'fx_backend_1', what: 'not healthy after 20s', logs: '',
      healthLog: [{ exitCode: 0, output: '' }, { exitCode: 1, output: 'curl: (7) refused\n', start: 't1' }], blocked: [], kept: true,
    });
    expect(text).toContain('  health log (newest last):\n    [exit 1 at t1] curl: (7) refused');
    expect(text).toContain('    (no output)');
  });

  it('adds our own newest probe result when Docker\'s health log says something older', () => {
    const facts = {
      service: 'backend', container: 'fx-backend-1', what: 'not healthy after 25s', logs: '', blocked: [], kept: true,
      healthLog: [{ exitCode: 7, output: 'curl: (7) Failed to connect\n', start: 't1' }],
    };
    expect(failureReport({ ...facts, probeOutput: 'curl: (22) The requested URL returned error: 503\n' })).toContain(
      '    [exit 7 at t1] curl: (7) Failed to connect\n  last healthcheck run:\n    curl: (22) The requested URL returned error: 503',
    );
    // The same result twice is shown once.
    expect(failureReport({ ...facts, probeOutput: 'curl: (7) Failed to connect' })).not.toContain('last healthcheck run');
    // No Docker log at all: the probe alone.
    expect(failureReport({ ...facts, healthLog: [], probeOutput: 'boom' })).toContain('  last healthcheck run:\n    boom');
  });

  it('keeps the last lines only', () => {
    expect(lastLines(Array.from({ length: 60 }, (_, i) => `l${i}`).join('\n'), 50).split('\n')).toHaveLength(50);
  });
});

describe('progress and standing', () => {
  it('formats rows', () => {
    expect(formatRow({ service: 'postgres', state: 'healthy', elapsedMs: 1234 }, 10)).toBe('✔ postgres    healthy      1.2s');
    expect(standingReport([{ service: 'backend', state: 'starting', elapsedMs: 2000 }])).toBe('  backend  starting (2.0s)');
  });
  it('tty rows never wrap: each is cut to the terminal width, so redrawing moves up exactly the rows drawn', () => {
    const out: string[] = [];
    const r = ttyRenderer((c) => out.push(c), () => 12);
    const rows = [{ service: 'a-very-long-service-name', state: 'running', elapsedMs: 0 }, { service: 'b', state: 'waiting', elapsedMs: 0 }];
    r.update(rows, 'a-very-long-service-name');
    r.update(rows, 'b');
    const lines = out.join('').split('\n').filter(Boolean).map((l) => l.replace(/\x1b\[\d*[A-Z]/g, ''));
    expect(lines.every((l) => [...l].length <= 11)).toBe(true);
    expect(out[1]!.startsWith('\x1b[2A')).toBe(true);
  });

  it('plain prints the changed row; json prints objects', () => {
    const out: string[] = [];
    const rows = [{ service: 'a', state: 'running', elapsedMs: 0 }];
    plainRenderer((l) => out.push(l)).update(rows, 'a');
    jsonRenderer((l) => out.push(l)).update(rows, 'a');
    expect(out).toEqual(['✔ a         running      0.0s', '{"event":"state","service":"a","state":"running","elapsedMs":0}']);
  });
});

describe('status', () => {
  const spec = specOf(y`
    name: demo
    data: { postgres: { image: pg, database: app, user: app, password: "\${P}" } }
    services: { web: { image: app } }
    migrations: { same_image_as: web, before: [web], command: [migrate], check: [migrate, --check] }
  `);
  it('lists every service, created or not, with pending migrations', () => {
    const rows = statusRows(buildPlan(spec), [
      { service: 'postgres', name: 'demo_postgres_1', status: 'running', health: 'healthy', startedAt: '2026-01-01T00:00:00.123Z', image: 'pg:16' },
      { service: 'migrations', name: 'demo_migrations_1', status: 'exited', exitCode: 0, finishedAt: '2026-01-01T00:00:05.5Z', image: 'app' },
    ], { migrations: false });
    expect(statusTable(rows)).toBe([
      'SERVICE     ROLE              CONTAINER          IMAGE  STATE        HEALTH   SINCE                 PENDING',
      'postgres    data              demo_postgres_1    pg:16  running      healthy  2026-01-01T00:00:00Z  -',
      'migrations  migrations (pre)  demo_migrations_1  app    exited (0)   -        2026-01-01T00:00:05Z  no',
      'web         service           -                  -      not created  -        -                     -',
    ].join('\n'));
  });

  describe('mixedImages: a service whose running containers run more than one image', () => {
    const web = (name: string, image: string, imageId: string | undefined, status = 'running') => ({ service: 'web', name, status, image, ...(imageId ? { imageId } : {}) });
    const two = [web('a', 'app:v1', 'sha256:1'), web('b', 'app:v1', 'sha256:1'), web('c', 'app:v2', 'sha256:2', 'restarting'), { service: 'postgres', name: 'p', status: 'running', image: 'pg', imageId: 'sha256:9' }];
    it('no phase-compose runs: names each image, its containers, and the ways on', () => {
      // Before 2026-11-29 status showed old and new containers alike after an upgrade left by a second Ctrl-C.
      expect(mixedImages(two)).toEqual([
        'web: its 3 running containers run 2 images (app:v1: a b; app:v2: c), and no phase-compose runs on this project: an upgrade or rollback was left halfway (run `phase-compose upgrade` again, or `phase-compose rollback`), or could not remove an old container (it named it; remove it with `docker rm -f`)',
      ]);
    });
    it('an upgrade runs now (its rolling step): says so, no advice', () => {
      expect(mixedImages(two, { command: 'upgrade', pid: 4242 })).toEqual(['web: its 3 running containers run 2 images (app:v1: a b; app:v2: c): phase-compose upgrade (pid 4242) holds this project\'s lock now (an upgrade\'s or rollback\'s rolling step runs both)']);
    });
    it('one tag built again: told apart by ID; without IDs, by name', () => {
      expect(mixedImages([web('a', 'app:latest', 'sha256:aaaaaaaaaaaaaaaa'), web('b', 'app:latest', 'sha256:bbbbbbbbbbbbbbbb')])[0]).toContain('(app:latest aaaaaaaaaaaa: a; app:latest bbbbbbbbbbbb: b)');
      expect(mixedImages([web('a', 'app:v1', undefined), web('b', 'app:v2', undefined)])[0]).toContain('(app:v1: a; app:v2: b)');
    });
    it('nothing for one image, nor for a stopped or created container of another (an exited one, one not started)', () => {
      expect(mixedImages([web('a', 'app:v2', 'sha256:2'), web('b', 'app:v2', 'sha256:2'), web('c', 'app:v1', 'sha256:1', 'exited'), web('d', 'app:v1', 'sha256:1', 'created')])).toEqual([]);
    });
  });
});
