// Put on PATH as the README says (`npm install -g .`, here into a private prefix), the CLI works from any
// directory, and `init`'s "Next:" line is a command that works where the user stands: the bare name when
// it is on PATH, else the launcher's absolute path.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '../../..');
const temps: string[] = [];
const temp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  temps.push(d);
  return d;
};
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
const basePath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const sh = (line: string, cwd: string, path: string) =>
  spawnSync('sh', ['-c', line], { cwd, encoding: 'utf8', env: { ...process.env, PATH: `${join(process.execPath, '..')}:${path}` } });
const nextLine = (out: string) => /^Next: (.*)$/m.exec(out)?.[1];

describe('phase-compose on PATH', () => {
  let bin = '';
  beforeAll(() => {
    const prefix = temp('pc-prefix-');
    const r = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', repo], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    bin = join(prefix, 'bin');
  }, 150_000);

  it('runs from another directory, and init prints `cd … && phase-compose up`', () => {
    const cwd = temp('pc-where-');
    const help = sh('phase-compose --help', cwd, `${bin}:${basePath}`);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain('phase-compose <command>');
    const init = sh('phase-compose init --dir "my stack" --yes --tls none', cwd, `${bin}:${basePath}`);
    expect(init.status, init.stderr).toBe(0);
    expect(nextLine(init.stdout)).toBe(`cd 'my stack' && phase-compose up`);
  });

  it('without it on PATH, the Next line names the launcher by its absolute path, and that command runs', () => {
    const cwd = temp('pc-where-');
    const init = spawnSync(process.execPath, [join(repo, 'dist/cli.js'), 'init', '--dir', 'stack', '--yes', '--tls', 'none'], { cwd, encoding: 'utf8', env: { ...process.env, PATH: basePath } });
    expect(init.status, init.stderr).toBe(0);
    const next = nextLine(init.stdout)!;
    expect(next).toBe(`cd stack && ${join(repo, 'dist/cli.js')} up`);
    // The same line, with `status --help` for `up` (no Docker here), as the user would paste it.
    const r = sh(next.replace(/ up$/, ' status --help'), cwd, basePath);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('phase-compose status');
  });
});
