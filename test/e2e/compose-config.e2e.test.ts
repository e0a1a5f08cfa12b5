// The real Compose of the stack under test must accept every compose file we ship or write: each example
// as shipped, each example generated for this stack's versions, and `init`'s output, whose target
// `init` takes from the Compose and Engine it detects.
import { cpSync, mkdtempSync, readdirSync, existsSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, it } from 'vitest';
import { STACK, STACK_LABEL, composeArgv, retarget } from './helpers/compose.js';
import { run, runAsync } from './helpers/run.js';
import { CLI, REPO_ROOT } from './helpers/stack.js';

const examplesDir = join(REPO_ROOT, 'examples');
const examples = readdirSync(examplesDir).filter((d) => existsSync(join(examplesDir, d, 'phase-compose.yaml')));
const temps: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'pc-config-'));
  temps.push(d);
  return d;
};
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
const [composeCmd, ...composePre] = composeArgv();
const config = (dir: string, args: string[] = []) => runAsync(composeCmd!, [...composePre, '-p', 'pcconfig', ...args, 'config', '-q'], { cwd: dir });
const example = (name: string) => {
  const dir = temp();
  cpSync(join(examplesDir, name), dir, { recursive: true });
  copyFileSync(join(dir, '.env.example'), join(dir, '.env')); // the user's first step
  return dir;
};
type Doc = { name?: string; services: Record<string, { healthcheck?: { start_interval?: string } }> };
const hasStartInterval = (d: Doc) => Object.values(d.services).some((s) => s.healthcheck?.start_interval !== undefined);

// Side by side (vitest's maxConcurrency, 5): each test is a Compose process or two, mostly CPU, on 2 cores.
describe.concurrent(`${composeArgv().join(' ')} config -q accepts ${STACK_LABEL}`, () => {
  it.for(examples)('examples/%s as shipped', async (name, { expect }) => {
    const dir = example(name);
    const r = await config(dir, ['-f', join(dir, 'docker-compose.yml')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it.for(examples)('examples/%s generated for this stack', async (name, { expect }) => {
    const dir = example(name);
    const spec = join(dir, 'phase-compose.yaml');
    writeFileSync(spec, retarget(readFileSync(spec, 'utf8')));
    const g = await runAsync('node', [CLI, 'generate', '-q', '-f', spec], { cwd: dir });
    expect(g.code, g.stderr).toBe(0);
    const doc = parse(readFileSync(join(dir, 'docker-compose.yml'), 'utf8')) as Doc;
    // v2 files carry the keys Compose v1 rejects: the project name and start_interval healthchecks.
    expect(doc.name !== undefined).toBe(STACK === 'v2');
    expect(hasStartInterval(doc)).toBe(STACK === 'v2');
    const r = await config(dir, ['-f', join(dir, 'docker-compose.yml')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('the stack `phase-compose init` writes, targeted at the Compose and Engine it detects', async ({ expect }) => {
    const dir = temp();
    const init = await runAsync('node', [CLI, 'init', '--dir', dir, '--yes', '--host', 'phase.test'], { cwd: dir });
    expect(init.code, init.stderr).toBe(0);
    const target = (parse(readFileSync(join(dir, 'phase-compose.yaml'), 'utf8')) as { target: { compose: string; engine: string } }).target;
    const v = (cmd: string[]) => run(cmd[0]!, cmd.slice(1)).stdout.trim();
    expect(target.compose).toBe(v([...composeArgv(), 'version', '--short']).replace(/^v/, '').replace(/-.*$/, ''));
    expect(target.engine).toBe(v(['docker', 'version', '-f', '{{.Server.Version}}']).replace(/[-+].*$/, ''));
    const doc = parse(readFileSync(join(dir, 'docker-compose.yml'), 'utf8')) as Doc;
    expect(hasStartInterval(doc)).toBe(STACK === 'v2');
    expect(doc.name !== undefined).toBe(STACK === 'v2');
    const r = await config(dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('every published-port form the spec accepts, IP::CONTAINER (an Engine-picked host port) among them', async ({ expect }) => {
    const dir = temp();
    const ports = ['8080:80', '127.0.0.1:8081:80', '127.0.0.1::80', '80', '127.0.0.1::9000-9001/udp'];
    writeFileSync(join(dir, 'phase-compose.yaml'), retarget(`name: ports\ntarget: x\nservices:\n  web:\n    image: app:1\n    ports: ${JSON.stringify(ports)}\n`));
    const g = await runAsync('node', [CLI, 'generate', '-q', '-f', join(dir, 'phase-compose.yaml')], { cwd: dir });
    expect(g.code, g.stderr).toBe(0);
    expect((parse(readFileSync(join(dir, 'docker-compose.yml'), 'utf8')) as { services: { web: { ports: unknown[] } } }).services.web.ports).toEqual(ports);
    const r = await config(dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('and rejects a broken file (negative control)', async ({ expect }) => {
    const dir = temp();
    writeFileSync(join(dir, 'docker-compose.yml'), 'services:\n  a:\n    image: x\n    depends_on: { b: { condition: done } }\n');
    expect((await config(dir)).code).not.toBe(0);
  });
});
