// Opening a stack writes nothing; generated files are written by `up` only once it holds the lock, so
// a refused second `up` leaves the compose file byte-identical; `status` and `down` write nothing.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runDown } from '../../../src/cli/commands/down.js';
import { runStatus } from '../../../src/cli/commands/status.js';
import { runMigrateCommand, runUpCommand } from '../../../src/cli/commands/up.js';
import { acquireLock } from '../../../src/docker/lock.js';
import { openStack } from '../../../src/stack/open.js';
import { renderStackFiles, syncStackFiles } from '../../../src/stack/outputs.js';
import { PhaseComposeError } from '../../../src/util/errors.js';

const example = join(import.meta.dirname, '../../../examples/phase-single-host/phase-compose.yaml');
const quiet = { out: () => {}, err: () => {}, isTTY: false };

/** A stack directory whose compose file is stale (generated, then edited) and whose nginx config is missing. */
function staleStack(): { dir: string; file: string; compose: string; snapshot: () => Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'pc-open-'));
  const file = join(dir, 'phase-compose.yaml');
  writeFileSync(file, readFileSync(example, 'utf8'));
  const source = openStack({ file });
  const composeFile = renderStackFiles(source).files.find((f) => f.path === source.composeFile)!;
  const compose = `${composeFile.content}# an older generation\n`;
  writeFileSync(source.composeFile, compose);
  const snapshot = () => Object.fromEntries(readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((p) => {
    try {
      return [p, readFileSync(join(dir, p), 'utf8')];
    } catch {
      return [p, '(directory)'];
    }
  }));
  return { dir, file, compose, snapshot };
}

const failure = async (p: Promise<unknown>) => {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(PhaseComposeError);
  return e as PhaseComposeError;
};

let project: string;
beforeEach(() => {
  project = `pc-open-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  // A Compose found on PATH without running anything (only its presence is checked), and an Engine
  // that cannot be reached: no test here talks to Docker.
  const bin = mkdtempSync(join(tmpdir(), 'pc-open-bin-'));
  writeFileSync(join(bin, 'docker-compose'), '#!/bin/sh\nexit 99\n');
  chmodSync(join(bin, 'docker-compose'), 0o755);
  symlinkSync(execFileSync('sh', ['-c', 'command -v flock']).toString().trim(), join(bin, 'flock')); // the lock needs util-linux's flock
  vi.stubEnv('PATH', bin);
  vi.stubEnv('DOCKER_HOST', `unix://${join(bin, 'no-such.sock')}`);
  vi.stubEnv('COMPOSE_PROJECT_NAME', undefined);
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('openStack', () => {
  it('resolves the spec, its paths and the project name, and writes nothing', () => {
    const s = staleStack();
    const before = s.snapshot();
    const stack = openStack({ file: s.file });
    expect(stack).toMatchObject({ specFile: s.file, specDir: s.dir, composeFile: join(s.dir, 'docker-compose.yml'), project: stack.spec.name.toLowerCase().replace(/[^a-z0-9_-]/g, '') });
    expect(openStack({ file: s.file, projectName: 'My Stack' }).project).toBe('mystack');
    vi.stubEnv('COMPOSE_PROJECT_NAME', 'from-env');
    expect(openStack({ file: s.file }).project).toBe('from-env');
    vi.stubEnv('COMPOSE_PROJECT_NAME', '');
    expect(openStack({ file: s.file }).project).toBe(stack.project); // empty: unset, as Compose takes it
    for (const bad of ['.', '../x', 'My Stack', '-x']) {
      vi.stubEnv('COMPOSE_PROJECT_NAME', bad);
      // Before, normalised: "." gave an empty project name (an empty lock name, a filter matching nothing).
      expect(() => openStack({ file: s.file }), bad).toThrow(expect.objectContaining({ kind: 'usage', message: expect.stringContaining(`COMPOSE_PROJECT_NAME=${JSON.stringify(bad)}`) }));
    }
    vi.stubEnv('COMPOSE_PROJECT_NAME', 'from-env');
    const withCompose = openStack({ file: s.file, projectName: project }, { compose: true });
    expect(withCompose.compose).toEqual({ cli: { argv: ['docker-compose'] }, project, file: join(s.dir, 'docker-compose.yml'), cwd: s.dir });
    expect(s.snapshot()).toEqual(before);
  });

  it('takes the lock when asked, and is refused (exit 6) while another holds it', () => {
    const s = staleStack();
    const held = openStack({ file: s.file, projectName: project }, { compose: true, lock: 'up' });
    try {
      let e: unknown;
      try {
        openStack({ file: s.file, projectName: project }, { compose: true, lock: 'down' });
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(PhaseComposeError);
      expect((e as PhaseComposeError).kind).toBe('locked');
    } finally {
      held.lock.release();
    }
    openStack({ file: s.file, projectName: project }, { compose: true, lock: 'down' }).lock.release();
  });
});

describe('generated files are written only under the lock', () => {
  it.each([
    ['up', (file: string) => runUpCommand({ file, projectName: project }, quiet, () => 0)],
    ['migrate', (file: string) => runMigrateCommand({ file, projectName: project }, quiet, () => 0)],
    ['down', (file: string) => runDown({ file, projectName: project }, quiet)],
  ])('a %s refused by a held lock leaves the compose file byte-identical and writes nothing', async (_, run) => {
    const s = staleStack();
    const before = s.snapshot();
    const lock = acquireLock(project, 'up');
    try {
      const e = await failure(run(s.file));
      expect(e.kind).toBe('locked');
    } finally {
      lock.release();
    }
    expect(readFileSync(join(s.dir, 'docker-compose.yml'), 'utf8')).toBe(s.compose);
    expect(s.snapshot()).toEqual(before);
  });

  it.each([
    ['status', (file: string) => runStatus({ file, projectName: project }, quiet)],
    ['down', (file: string) => runDown({ file, projectName: project }, quiet)],
  ])('%s writes nothing, even with the compose file out of date (it stops at the unreachable Engine)', async (_, run) => {
    const s = staleStack();
    const before = s.snapshot();
    const e = await failure(run(s.file));
    expect(e.kind).toBe('docker');
    expect(s.snapshot()).toEqual(before);
    // down released its lock on the way out
    acquireLock(project, 'up').release();
  });

  it('once the lock is held, up\'s sync writes exactly the stale and missing files', () => {
    const s = staleStack();
    const stack = openStack({ file: s.file });
    const written = syncStackFiles(stack);
    expect(written.sort()).toEqual(renderStackFiles(stack).files.map((f) => f.path).sort());
    expect(syncStackFiles(stack)).toEqual([]);
  });

  it('refuses a spec with an external data service before any Docker call: every stack command runs Compose', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-open-'));
    const file = join(dir, 'phase-compose.yaml');
    writeFileSync(file, readFileSync(example, 'utf8').replace(/^  redis:\n(    .*\n)+/m, '  redis:\n    external: { host: 10.0.0.9 }\n'));
    const e = (() => {
      try {
        openStack({ file });
      } catch (x) {
        return x as PhaseComposeError;
      }
      return undefined;
    })();
    expect([e?.kind, e?.message]).toEqual(['usage', 'data.redis.external (a managed database) is only for `generate --target kubernetes`, for now']);
  });
});
