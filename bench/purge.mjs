#!/usr/bin/env node
// Benchmark: the audit-log purge through `phase-compose exec purge` beside a plain `docker exec` of the same
// manage.py command, on the same data, in one run. Each round seeds two organisations with identical events
// (1,000,000 each by default: 40% READ over 60 days, so --retain 30 deletes ~200,000 per org), then purges one
// each way (the order alternates between rounds). Prints wall time, the app's own time, rows deleted per second,
// and Phase's published figure (about 2.5 minutes per million READ events on a db.t3.micro).
//
//   node scripts/build.mjs && node bench/purge.mjs [--rounds 2] [--count 1000000] [--batch-size 10000] [--sleep-ms 0]
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli.js');
const arg = (name, dflt) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : dflt);
const rounds = Number(arg('rounds', 2));
const count = Number(arg('count', 1_000_000));
const batch = String(arg('batch-size', 10000));
const sleepMs = String(arg('sleep-ms', 0));
const project = `pcbenchpurge${process.pid}`;

const dir = mkdtempSync(join(tmpdir(), 'pc-bench-purge-'));
cpSync(join(root, 'test/fixtures/stack/.env'), join(dir, '.env'));
// The fixture's purge task already has kind: phase-purge and the size report, like the phase template.
const spec = readFileSync(join(root, 'test/fixtures/stack/phase-compose.yaml'), 'utf8');
writeFileSync(join(dir, 'phase-compose.yaml'), spec);
const sh = (cmd, args) => spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', maxBuffer: 256 << 20 });
const must = (cmd, args) => {
  const r = sh(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
};
const compose = ['-p', project, '-f', join(dir, 'docker-compose.yml'), '--project-directory', dir];
const timed = (cmd, args) => {
  const t0 = process.hrtime.bigint();
  const r = must(cmd, args);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const m = /Log deletion completed: (\d+) rows in ([\d.]+)s/.exec(r.stdout);
  if (!m) throw new Error(`no completion line:\n${r.stdout}`);
  const task = /task "purge" ran ([\d.]+)s/.exec(r.stderr);
  return { wall: s, rows: Number(m[1]), app: Number(m[2]), exec: task ? Number(task[1]) : s };
};

const results = { 'docker exec': [], 'phase-compose exec purge': [] };
try {
  must('node', [cli, 'generate', '-q', '-f', join(dir, 'phase-compose.yaml')]);
  must('docker-compose', [...compose, 'up', '-d']);
  const backend = must('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.service=backend']).stdout.trim();
  const purgeArgs = (org) => [org, '--retain', '30', '--batch-size', batch, '--sleep-ms', sleepMs];
  for (let round = 1; round <= rounds; round++) {
    const orgs = [`Bench ${round}a; "x"`, `Bench ${round}b; 'y'`];
    for (const org of orgs) must('docker', ['exec', backend, 'python', 'manage.py', 'seed_events', org, '--count', String(count), '--days', '60']);
    const plain = (org) => timed('docker', ['exec', backend, 'python', 'manage.py', 'purge_app_logs', ...purgeArgs(org)]);
    const ours = (org) => timed('node', [cli, '-f', join(dir, 'phase-compose.yaml'), '-p', project, 'exec', 'purge', ...purgeArgs(org)]);
    const order = round % 2 ? [['docker exec', plain], ['phase-compose exec purge', ours]] : [['phase-compose exec purge', ours], ['docker exec', plain]];
    order.forEach(([name, fn], i) => {
      const r = fn(orgs[i]);
      results[name].push(r);
      process.stderr.write(`round ${round}: ${name.padEnd(25)} ${r.rows} rows, wall ${r.wall.toFixed(2)}s (app ${r.app.toFixed(2)}s)\n`);
    });
  }
} finally {
  sh('docker-compose', [...compose, 'down', '-v', '--timeout', '2']);
  rmSync(dir, { recursive: true, force: true });
}

const sum = (xs, k) => xs.reduce((a, x) => a + x[k], 0);
const phasePerSec = 1_000_000 / 150;
console.log(`\npurge of READ events older than 30 days, ${rounds} round(s) x ${count} seeded events per org, --batch-size ${batch} --sleep-ms ${sleepMs}\n`);
console.log('| method | rows deleted | purge exec (s) | app-reported (s) | whole command (s) | rows/s (purge exec) | purge exec vs docker exec | whole command vs docker exec |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
const perRow = (xs, k) => sum(xs, k) / sum(xs, 'rows');
const base = perRow(results['docker exec'], 'wall');
const pct = (x) => `${((x / base - 1) * 100).toFixed(1)}%`;
for (const [name, xs] of Object.entries(results)) {
  const rows = sum(xs, 'rows');
  console.log(`| ${name} | ${rows} | ${sum(xs, 'exec').toFixed(2)} | ${sum(xs, 'app').toFixed(2)} | ${sum(xs, 'wall').toFixed(2)} | ${Math.round(rows / sum(xs, 'exec'))} | ${pct(perRow(xs, 'exec'))} | ${pct(perRow(xs, 'wall'))} |`);
}
console.log(`| Phase docs (db.t3.micro, 2.5 min per 1M) | 1000000 | 150.00 | | | ${Math.round(phasePerSec)} | | |`);
console.log('\nComparisons are seconds per deleted row (target: within 3%). "purge exec" is the purge itself: docker exec\'s whole run, and for');
console.log('phase-compose the streamed Engine-API exec it times. "whole command" adds phase-compose\'s start-up, org check and the size');
console.log('report before and after (four psql execs), a fixed cost of about a second that a short purge makes large in percent.');
