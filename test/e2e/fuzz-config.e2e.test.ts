// Issue #11: a fixed-seed sample of accepted fuzzed specs, generated into temp dirs, must pass the real
// Compose's `config -q`. Each spec is generated for the Compose that runs it (target.compose set to its
// version), so a v2-only feature is never handed to v1.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { renderOutputs } from '../../src/model/outputs.js';
import { check, fuzzedSpec } from '../fuzz/specs.js';
import { composeArgv } from './helpers/compose.js';
import { run, runAsync } from './helpers/run.js';

const SAMPLE = 25;
const [cmd, ...pre] = composeArgv() as [string, ...string[]];
const version = /(\d+\.\d+(\.\d+)?)/.exec(run(cmd, [...pre, 'version', '--short']).stdout)?.[1] ?? '1.29.2';

/** Accepted fuzzed specs, retargeted at the Compose under test (and still accepted). */
function sample(): string[] {
  const out: string[] = [];
  for (const text of fc.sample(fuzzedSpec, { numRuns: 3000, seed: 2024 })) {
    const spec = check(text).spec;
    if (!spec) continue;
    const retargeted = stringify({ ...(parse(text) as object), target: { ...spec.target, compose: version } });
    if (check(retargeted).spec) out.push(retargeted);
    if (out.length === SAMPLE) break;
  }
  return out;
}

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe(`${composeArgv().join(' ')} config -q accepts generated fuzzed specs (Compose ${version})`, () => {
  const specs = sample();
  it('has a full sample', () => {
    expect(specs).toHaveLength(SAMPLE);
  });

  // Side by side (vitest's maxConcurrency, 5): each is a Compose process, mostly CPU, and the machine has 2 cores.
  it.concurrent.for(specs.map((s, i) => [i, s] as const))('spec %i', async ([, text], { expect }) => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-fuzz-config-'));
    temps.push(dir);
    const spec = check(text).spec!;
    writeFileSync(join(dir, 'phase-compose.yaml'), text);
    const { files } = renderOutputs(spec, 'phase-compose.yaml', undefined, dir);
    for (const f of files) {
      mkdirSync(dirname(join(dir, f.path)), { recursive: true });
      writeFileSync(join(dir, f.path), f.content);
    }
    const compose = files[0]!;
    // Env files Compose reads must exist; every referenced variable is set (so ${X:?e} passes).
    for (const m of compose.content.matchAll(/^\s+- "([^"]*\.env)"$/gm)) {
      const file = resolve(dir, m[1]!);
      if (file.startsWith(`${dir}/`)) writeFileSync(file, '');
    }
    // (Variables already set, such as HOME, keep their value: HOME=x would turn "${HOME}:/h" into a named volume.)
    const env = { ...Object.fromEntries([...compose.content.matchAll(/(?<!\$)\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => [m[1]!, 'x'])), ...process.env };
    const r = await runAsync(cmd, [...pre, '-p', 'pcfuzz', '-f', join(dir, compose.path), 'config', '-q'], { cwd: dir, env });
    expect(r.stderr.trim(), `${text}\n--- generated ---\n${compose.content}\n--- compose says ---\n${r.stderr}`).toBe('');
    expect(r.code).toBe(0);
  });
});
