// The real Compose must accept every compose file we ship or write: each example, and `init`'s output.
import { cpSync, mkdtempSync, readdirSync, existsSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from './helpers/run.js';
import { REPO_ROOT } from './helpers/stack.js';

const examplesDir = join(REPO_ROOT, 'examples');
const examples = readdirSync(examplesDir).filter((d) => existsSync(join(examplesDir, d, 'phase-compose.yaml')));
const temps: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'pc-config-'));
  temps.push(d);
  return d;
};
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('docker-compose config -q accepts', () => {
  it.each(examples)('examples/%s', (name) => {
    const dir = temp();
    cpSync(join(examplesDir, name), dir, { recursive: true });
    copyFileSync(join(dir, '.env.example'), join(dir, '.env')); // the user's first step
    const r = run('docker-compose', ['-p', 'pcconfig', '-f', join(dir, 'docker-compose.yml'), 'config', '-q'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('the stack `phase-compose init` writes', () => {
    const dir = temp();
    const init = run('node', [join(REPO_ROOT, 'dist/cli.js'), 'init', '--dir', dir, '--yes', '--host', 'phase.test'], { cwd: dir });
    expect(init.code, init.stderr).toBe(0);
    const r = run('docker-compose', ['-p', 'pcconfig', 'config', '-q'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('and rejects a broken file (negative control)', () => {
    const dir = temp();
    writeFileSync(join(dir, 'docker-compose.yml'), 'services:\n  a:\n    image: x\n    depends_on: { b: { condition: done } }\n');
    expect(run('docker-compose', ['config', '-q'], { cwd: dir }).code).not.toBe(0);
  });
});
