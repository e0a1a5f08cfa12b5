// The built CLI as a user runs it: help, exit codes, generate --check.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdtempSync, openSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const cli = join(import.meta.dirname, '../../../dist/cli.js');
const run = (args: string[], cwd = process.cwd(), env: NodeJS.ProcessEnv = {}) => {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const example = join(import.meta.dirname, '../../../examples/phase-single-host');

describe('phase-compose binary', () => {
  it.each([
    'init', 'generate', 'validate', 'up', 'down', 'status', 'migrate', 'backup', 'restore',
    'exec', 'exec purge', 'exec sso', 'exec reset-network-policies', 'exec run', 'exec shell',
  ])('%s --help explains with an example and lists the exit codes once', (cmd) => {
    const r = run([...cmd.split(' '), '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Examples:');
    expect(r.out.split('Exit codes:').length).toBe(2);
  });

  it('exits 2 on a usage error and 2 on a missing spec', () => {
    expect(run(['generate', '--bogus']).code).toBe(2);
    const r = run(['validate', '-f', '/nonexistent/phase-compose.yaml']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no deployment spec at /nonexistent/phase-compose.yaml');
  });

  it('validate: 0 on a good spec, 1 with every problem and no stack trace on a bad one', () => {
    expect(run(['validate', '-f', join(example, 'phase-compose.yaml')]).code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'pc-bin-'));
    writeFileSync(join(dir, 'phase-compose.yaml'), 'name: x\nservices:\n  a: { image: i, depends_on: [b] }\n  c: { image: i, replicas: -1 }\n');
    const r = run(['validate'], dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain('phase-compose.yaml:4:');
    expect(r.err).not.toContain('    at ');
  });

  it('generate --check: 0 when current; 1 with a diff when stale; writes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-bin-'));
    copyFileSync(join(example, 'phase-compose.yaml'), join(dir, 'phase-compose.yaml'));
    expect(run(['generate', '-q'], dir).code).toBe(0);
    expect(run(['generate', '--check'], dir).code).toBe(0);
    const path = join(dir, 'docker-compose.yml');
    const stale = readFileSync(path, 'utf8').replace('"phasehq/backend:latest"', '"phasehq/backend:old"');
    writeFileSync(path, stale);
    const r = run(['generate', '--check'], dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain('-    image: "phasehq/backend:old"');
    expect(r.out).toContain('+    image: "phasehq/backend:latest"');
    expect(readFileSync(path, 'utf8')).toBe(stale);
  });

  it('a Docker command loads the Docker client (dist/vendor.cjs) and exits 3 when no Engine answers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-bin-'));
    copyFileSync(join(example, 'phase-compose.yaml'), join(dir, 'phase-compose.yaml'));
    const r = run(['-p', 'nothing', 'exec', 'run', 'backend', '--', 'true'], dir, { DOCKER_HOST: `unix://${join(dir, 'no-such.sock')}` });
    expect(r.err).toContain('cannot reach the Docker Engine');
    expect(r.err).toContain('no-such.sock');
    expect(r.code).toBe(3);
  });

  it('generate is deterministic across runs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-bin-'));
    copyFileSync(join(example, 'phase-compose.yaml'), join(dir, 'phase-compose.yaml'));
    run(['generate', '-q', '-o', 'a.yml'], dir);
    run(['generate', '-q', '-o', 'b.yml'], dir);
    expect(readFileSync(join(dir, 'a.yml'), 'utf8')).toBe(readFileSync(join(dir, 'b.yml'), 'utf8'));
  });
  it('a reader that goes away (stdout and stderr closed, as `| head -1` does) no longer ends it midway: its own exit code', async () => {
    // Before, the EPIPE killed the process as an unhandled error (exit 1 for both), wherever it was.
    const closed = (args: string[]) => new Promise<number | null>((res) => {
      const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      child.stderr.destroy();
      child.on('exit', (code) => res(code));
    });
    expect(await closed(['validate', '-f', join(example, 'phase-compose.yaml')])).toBe(0);
    expect(await closed(['nonsense'])).toBe(2);
  });

  it('stdout on a full disk (> /dev/full): the command finishes, exits 1 and says why on stderr', () => {
    const full = openSync('/dev/full', 'w');
    try {
      const r = spawnSync(process.execPath, [cli, 'validate', '-f', join(example, 'phase-compose.yaml')], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr).toBe('phase-compose: the command finished, but its stdout could not be written in full: the disk is full\n');
    } finally {
      closeSync(full);
    }
  });
});
