// `upgrade --dry-run` writes nothing, not even the generated files a real upgrade brings up to date first.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/main.js';

const fixture = join(import.meta.dirname, '../../fixtures/stack');
const cli = async (argv: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
};

// A Docker that cannot be reached (the run stops there, exit 3), and a Compose found on the PATH that
// is never run before that point.
const saved = { DOCKER_HOST: process.env.DOCKER_HOST, PATH: process.env.PATH };
beforeAll(() => {
  const bin = mkdtempSync(join(tmpdir(), 'pc-dry-bin-'));
  writeFileSync(join(bin, 'docker-compose'), '#!/bin/sh\nexit 1\n');
  chmodSync(join(bin, 'docker-compose'), 0o755);
  process.env.PATH = `${bin}:${saved.PATH ?? ''}`;
  process.env.DOCKER_HOST = `unix://${join(bin, 'no-such.sock')}`;
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('upgrade --dry-run', () => {
  it('leaves a generated file that is out of date with the spec as it is, and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-dry-'));
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(fixture, 'phase-compose.yaml'), join(dir, 'phase-compose.yaml'));
    copyFileSync(join(fixture, '.env'), join(dir, '.env'));
    const spec = join(dir, 'phase-compose.yaml');
    expect((await cli(['-f', spec, 'generate'])).code).toBe(0);
    const compose = join(dir, 'docker-compose.yml');
    const before = readFileSync(compose, 'utf8');
    writeFileSync(spec, readFileSync(spec, 'utf8').replace('ALLOWED_HOSTS: "backend,localhost"', 'ALLOWED_HOSTS: "backend,localhost"\n      EXTRA_SETTING: "2"'));
    const r = await cli(['-f', spec, '-p', 'pcdry', 'upgrade', '--dry-run']);
    expect(r.code, r.err).toBe(3); // Docker cannot be reached: after the files, before any plan
    expect(r.out).toContain(`--dry-run: ${compose} is out of date with the spec and not written`); // the plan's own stream
    // Until 2026-11-28 the dry run wrote it: a later `docker compose up -d` applied the change with an outage.
    expect(readFileSync(compose, 'utf8')).toBe(before);
    expect(`${r.out}\n${r.err}`).not.toContain('wrote ');
  });
});

describe('a refused up or migrate', () => {
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-refused-'));
    copyFileSync(join(fixture, 'phase-compose.yaml'), join(dir, 'phase-compose.yaml'));
    copyFileSync(join(fixture, '.env'), join(dir, '.env'));
    return dir;
  };

  it('`up` of a service the stack does not have is a usage error with a guess, and writes nothing', async () => {
    const dir = fresh();
    const r = await cli(['-f', join(dir, 'phase-compose.yaml'), '-p', 'pcrefused', 'up', 'bakend']);
    // Until 2026-11-29: the name was dropped, nothing started, "ready", exit 0.
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain('no service "bakend" in this stack');
    expect(r.err).toContain('did you mean "backend"?');
    expect(readdirSync(dir).sort()).toEqual(['.env', 'phase-compose.yaml']);
  });

  it('`migrate` of a spec without migrations is a usage error that writes nothing', async () => {
    const dir = fresh();
    const spec = join(dir, 'phase-compose.yaml');
    writeFileSync(spec, readFileSync(spec, 'utf8').replace(/^migrations:\n(?: .*\n|\n)*/m, ''));
    expect(readFileSync(spec, 'utf8')).not.toMatch(/^migrations:/m);
    const r = await cli(['-f', spec, '-p', 'pcrefused', 'migrate']);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain('the spec has no migrations section');
    // Before, the generated files were written first.
    expect(readdirSync(dir).sort()).toEqual(['.env', 'phase-compose.yaml']);
  });
});
