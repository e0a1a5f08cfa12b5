#!/usr/bin/env node
// Benchmark: the audit-log purge through `phase-compose exec purge` beside a plain `docker exec` of the same
// manage.py command, on the same data, in one run.
//
// Each round seeds two organisations with identical events (--count each, 40% READ spread over 60 days), then
// purges one each way with the same flags; the order alternates between rounds. Before every timed purge the
// table is settled (VACUUM (ANALYZE), CHECKPOINT), so neither method inherits the other's dead rows, dirty
// buffers or a running autovacuum. Both purges of a round must delete the same number of rows (give or take
// the event that crossed the moving cutoff between them).
//
// Prints, per method: rows deleted, the purge itself (docker exec's whole run; for phase-compose the Engine
// exec it times and reports), the whole command (phase-compose adds Node's start, the org check and the table
// size report before and after), rows per second, and the per-round ratio to docker exec; beside Phase's
// published figure (about 2.5 minutes per million READ events on a db.t3.micro).
//
//   node scripts/build.mjs && node bench/purge.mjs [--rounds 4] [--count 1000000] [--retain 30] [--batch-size 10000] [--sleep-ms 500] [--busy]
// The defaults are the purge command's own (batch 10000, 500 ms between batches); --sleep-ms 0 measures the
// database work alone. --baseline <another build's dist/cli.js> adds that build's `exec purge` on a third
// organisation of the same data, in the same rounds (the order rotates), for a before/after in one run.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireQuietEngine } from './quiet.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli.js');
const arg = (name, dflt) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : dflt);
const rounds = Number(arg('rounds', 4));
const count = Number(arg('count', 1_000_000));
const retain = String(arg('retain', 30));
const batch = String(arg('batch-size', 10000));
const sleepMs = String(arg('sleep-ms', 500));
const baseline = arg('baseline', undefined);
const project = `pcbenchpurge${process.pid}`;
const quiet = requireQuietEngine();

const dir = mkdtempSync(join(tmpdir(), 'pc-bench-purge-'));
cpSync(join(root, 'test/fixtures/stack/.env'), join(dir, '.env'));
writeFileSync(join(dir, 'phase-compose.yaml'), readFileSync(join(root, 'test/fixtures/stack/phase-compose.yaml'), 'utf8'));
const spec = join(dir, 'phase-compose.yaml');
const sh = (cmd, args) => spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', maxBuffer: 256 << 20 });
const must = (cmd, args) => {
  const r = sh(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
};
const containerOf = (service) =>
  must('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`]).stdout.trim();
const timed = (cmd, args) => {
  const t0 = process.hrtime.bigint();
  const r = must(cmd, args);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const m = /Log deletion completed: (\d+) rows in ([\d.]+)s/.exec(r.stdout);
  if (!m) throw new Error(`no completion line:\n${r.stdout}`);
  // phase-compose reports the Engine exec it ran: `task "purge" ran 12.34s in backend, exit 0`.
  const task = /task "purge" ran ([\d.]+)s/.exec(r.stderr);
  return { wall, rows: Number(m[1]), app: Number(m[2]), purge: task ? Number(task[1]) : wall };
};

const methods = ['docker exec', 'phase-compose exec purge', ...(baseline ? ['baseline exec purge'] : [])];
const results = Object.fromEntries(methods.map((m) => [m, []]));
try {
  must('node', [cli, '-f', spec, '-p', project, 'up', '--timeout', '3m']);
  const backend = containerOf('backend');
  const postgres = containerOf('postgres');
  const psql = (...sql) => must('docker', ['exec', postgres, 'sh', '-c', 'psql -X -q -U "$POSTGRES_USER" -d "$POSTGRES_DB" "$@"', 'psql', ...sql.flatMap((s) => ['-c', s])]);
  const settle = () => psql('VACUUM (ANALYZE) api_secretevent', 'CHECKPOINT');
  const flags = ['--retain', retain, '--batch-size', batch, '--sleep-ms', sleepMs];
  const run = {
    'docker exec': (org) => timed('docker', ['exec', backend, 'python', 'manage.py', 'purge_app_logs', org, ...flags]),
    'phase-compose exec purge': (org) => timed('node', [cli, '-f', spec, '-p', project, 'exec', 'purge', org, ...flags]),
    'baseline exec purge': (org) => timed('node', [baseline, '-f', spec, '-p', project, 'exec', 'purge', org, ...flags]),
  };
  for (let round = 1; round <= rounds; round++) {
    const orgs = [`Bench ${round}a; "x"`, `Bench ${round}b; 'y'`, `Bench ${round}c; $z`].slice(0, methods.length);
    for (const org of orgs) must('docker', ['exec', backend, 'python', 'manage.py', 'seed_events', org, '--count', String(count), '--days', '60']);
    const order = methods.length === 2 ? (round % 2 ? methods : [...methods].reverse()) : methods.map((_, i) => methods[(i + round) % methods.length]);
    const got = order.map((name, i) => {
      settle();
      const r = run[name](orgs[i]);
      results[name].push(r);
      process.stderr.write(`round ${round}: ${name.padEnd(25)} ${r.rows} rows, purge ${r.purge.toFixed(2)}s, whole ${r.wall.toFixed(2)}s (app ${r.app.toFixed(2)}s)\n`);
      return r.rows;
    });
    // Events are ~5 s apart and the cutoff is now - retain days at each purge's own start, so the two may differ
    // by the event or two that crossed the cutoff meanwhile; anything more means the data was not the same.
    if (got.some((g) => Math.abs(g - got[0]) > Math.max(5, got[0] * 1e-4))) throw new Error(`round ${round}: the purges deleted ${got.join(', ')} rows of identical data`);
  }
} finally {
  sh('node', [cli, '-f', spec, '-p', project, 'down', '-v']);
  rmSync(dir, { recursive: true, force: true });
}

const sum = (xs, k) => xs.reduce((a, x) => a + x[k], 0);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
const base = results['docker exec'];
/** Per round, this method's time over docker exec's (same rows): median and range. */
const vsBase = (xs, k) => {
  const r = xs.map((x, i) => x[k] / base[i].wall - 1);
  return `${pct(median(r))} (${pct(Math.min(...r))} .. ${pct(Math.max(...r))})`;
};
console.log(`\n${quiet}`);
console.log(`purge_app_logs --retain ${retain} --batch-size ${batch} --sleep-ms ${sleepMs}; ${rounds} round(s), ${count} seeded events per org; table settled before each purge\n`);
console.log('| method | rows deleted | purge (s) | whole command (s) | app-reported (s) | rows/s (whole command) | purge vs docker exec, per round: median (range) | whole command vs docker exec |');
console.log('|---|---:|---:|---:|---:|---:|---|---|');
for (const [name, xs] of Object.entries(results)) {
  const rows = sum(xs, 'rows');
  const same = name === 'docker exec';
  console.log(`| ${name} | ${rows} | ${sum(xs, 'purge').toFixed(2)} | ${sum(xs, 'wall').toFixed(2)} | ${sum(xs, 'app').toFixed(2)} | ${Math.round(rows / sum(xs, 'wall'))} | ${same ? '' : vsBase(xs, 'purge')} | ${same ? '' : vsBase(xs, 'wall')} |`);
}
console.log(`| Phase docs (db.t3.micro, 2.5 min per 1M) | 1000000 | | 150.00 | | ${Math.round(1_000_000 / 150)} | | |`);
const ours = results['phase-compose exec purge'];
if (baseline) {
  const theirs = results['baseline exec purge'];
  console.log(`\nbaseline: ${baseline}; phase-compose / baseline, whole command per round: ${ours.map((x, i) => (x.wall / theirs[i].wall).toFixed(3)).join(', ')}`);
  console.log(`baseline's fixed cost (whole command - its purge exec), median per run: ${median(theirs.map((x) => x.wall - x.purge)).toFixed(2)} s`);
}
console.log(`\nphase-compose's fixed cost (whole command - its purge exec), median per run: ${median(ours.map((x) => x.wall - x.purge)).toFixed(2)} s`);
console.log(`docker exec's whole run vs the app's own timing, median per run: ${median(base.map((x) => x.wall - x.app)).toFixed(2)} s`);
