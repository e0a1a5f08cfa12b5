#!/usr/bin/env node
// Benchmark: median wall time of `phase-compose generate` on the phase template, beside a bare
// `node -e ''` and `docker-compose config -q` on the same output, interleaved in one run.
// Usage: node bench/generate.mjs [runs=31] [--baseline <another build's dist/cli.js>]
// --baseline adds that build's `generate` on the same spec, interleaved, for a before/after in one run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli.js');
const baselineAt = process.argv.indexOf('--baseline');
const baseline = baselineAt > 0 ? process.argv[baselineAt + 1] : undefined;
const runs = Number(process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 31);
const dir = mkdtempSync(join(tmpdir(), 'pc-bench-'));

const sh = (cmd, args) => spawnSync(cmd, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
// With a baseline, its own `init` writes the spec: an older build may not know keys a newer `init` writes.
const init = sh(process.execPath, [baseline ?? cli, 'init', '--dir', dir, '--yes', '--tls', 'none', '--compose-version', '1.29.2', '--engine-version', '20.10']);
if (init.status !== 0) throw new Error(`init failed: ${init.stderr}`);

const haveCompose = sh('docker-compose', ['version', '--short']).status === 0;
const cases = [
  ['node -e \'\'', process.execPath, ['-e', '']],
  ['phase-compose generate', process.execPath, [cli, 'generate', '-q', '-f', join(dir, 'phase-compose.yaml')]],
  ...(baseline ? [['baseline generate', process.execPath, [baseline, 'generate', '-q', '-f', join(dir, 'phase-compose.yaml')]]] : []),
  ...(haveCompose ? [['docker-compose config -q', 'docker-compose', ['-p', 'bench', '-f', join(dir, 'docker-compose.yml'), 'config', '-q']]] : []),
];

const times = new Map(cases.map(([name]) => [name, []]));
for (let i = 0; i < runs + 2; i++) {
  for (const [name, cmd, args] of cases) {
    const t0 = process.hrtime.bigint();
    const r = sh(cmd, args);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr}`);
    if (i >= 2) times.get(name).push(ms); // two warm-up rounds
  }
}
rmSync(dir, { recursive: true, force: true });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const base = median(times.get("node -e ''"));
console.log(`phase-compose generate benchmark: ${runs} interleaved runs each, median wall time (node ${process.version})\n`);
console.log('| command | median ms | min ms | max ms | x node -e \'\' |');
console.log('|---|---:|---:|---:|---:|');
for (const [name] of cases) {
  const xs = times.get(name);
  console.log(`| ${name} | ${median(xs).toFixed(1)} | ${Math.min(...xs).toFixed(1)} | ${Math.max(...xs).toFixed(1)} | ${(median(xs) / base).toFixed(2)} |`);
}
const ratio = median(times.get('phase-compose generate')) / base;
console.log(`\ntarget: generate <= 1.6x node -e '': ${ratio <= 1.6 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}x)`);
if (!haveCompose) console.log('(docker-compose not installed: its row is left out)');
