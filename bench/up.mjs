#!/usr/bin/env node
// Benchmark: `phase-compose up` vs `docker-compose up -d` (or `docker compose up -d`) on the same generated
// compose file, from Docker event timestamps. For each service: when it started, when it was ready
// (healthy: Docker's health event or the first successful run of its healthcheck command, whichever came
// first; completed: exit 0; started: start), the gap between its last dependency becoming ready and its
// own start, and the total time to everything ready. Both runs start from nothing (no containers, no volumes).
//
//   node scripts/build.mjs && node bench/up.mjs [--runs N]
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli.js');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 1) || 1;
const docker = new Docker();

// The fixture stack with the phase template's healthcheck timing (the generator's defaults).
const dir = mkdtempSync(join(tmpdir(), 'pc-bench-'));
cpSync(join(root, 'test/fixtures/stack/.env'), join(dir, '.env'));
const spec = readFileSync(join(root, 'test/fixtures/stack/phase-compose.yaml'), 'utf8').replace(/^\s+interval: 5s\n/m, '');
writeFileSync(join(dir, 'phase-compose.yaml'), spec);
const sh = (cmd, args, opts = {}) => spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', ...opts });
const gen = sh('node', [cli, 'generate', '-q', '-f', join(dir, 'phase-compose.yaml')]);
if (gen.status !== 0) throw new Error(gen.stderr);
const file = join(dir, 'docker-compose.yml');
const compose = sh('docker', ['compose', 'version', '--short']).status === 0 ? ['docker', 'compose'] : ['docker-compose'];

// What each service waits for, and what "ready" means (same rules as phase-compose's plan).
const deps = {
  postgres: [], redis: [],
  migrations: [['postgres', 'healthy'], ['redis', 'healthy']],
  backend: [['migrations', 'completed'], ['postgres', 'healthy'], ['redis', 'healthy']],
  worker: [['migrations', 'completed'], ['postgres', 'healthy'], ['redis', 'healthy']],
  'migrations-post': [['backend', 'healthy'], ['migrations', 'completed']],
};
const readyWhen = { postgres: 'healthy', redis: 'healthy', migrations: 'completed', backend: 'healthy', worker: 'started', 'migrations-post': 'completed' };

async function record(project, argv) {
  const events = [];
  const stream = await docker.getEvents({ filters: { type: ['container'], label: [`com.docker.compose.project=${project}`] } });
  let buf = '';
  stream.on('data', (c) => {
    buf += c;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) events.push(JSON.parse(line));
    }
  });
  const t0 = Date.now();
  const r = sh(argv[0], argv.slice(1), { env: { ...process.env } });
  const tEnd = Date.now();
  // Wait until every service is ready by the events (docker-compose up -d returns before that).
  const deadline = Date.now() + 180_000;
  let a;
  while (Date.now() < deadline) {
    a = analyse(events, t0);
    if (Object.keys(readyWhen).every((s) => a.ready[s] !== undefined)) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  stream.destroy();
  if (r.status !== 0) console.error(`${argv.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return { ...a, commandMs: tEnd - t0 };
}

function analyse(events, t0) {
  const start = {}, ready = {}, execCmd = {};
  const ms = (e) => e.timeNano / 1e6 - t0;
  for (const e of events) {
    const s = e.Actor.Attributes['com.docker.compose.service'];
    if (!s || e.Actor.Attributes['com.docker.compose.oneoff'] === 'True') continue;
    const act = e.Action;
    if (act === 'start') start[s] = ms(e);
    if (act.startsWith('exec_create')) execCmd[e.Actor.Attributes.execID] = act;
    if (start[s] === undefined || ready[s] !== undefined) continue;
    const want = readyWhen[s];
    if (want === 'started' && act === 'start') ready[s] = ms(e);
    if (want === 'completed' && act === 'die' && e.Actor.Attributes.exitCode === '0') ready[s] = ms(e);
    if (want === 'healthy' && act === 'health_status: healthy') ready[s] = ms(e);
    // The healthcheck command (Docker's own run or phase-compose's) exiting 0.
    if (want === 'healthy' && act.startsWith('exec_die') && e.Actor.Attributes.exitCode === '0') {
      const cmd = execCmd[e.Actor.Attributes.execID] ?? '';
      if (/pg_isready|redis-cli|\/health\//.test(cmd)) ready[s] = ms(e);
    }
  }
  const gaps = {};
  for (const [s, ds] of Object.entries(deps)) {
    if (!ds.length || start[s] === undefined) continue;
    const last = Math.max(...ds.map(([d]) => ready[d] ?? NaN));
    gaps[s] = start[s] - last;
  }
  const total = Math.max(...Object.keys(readyWhen).map((s) => ready[s] ?? NaN));
  return { start, ready, gaps, total };
}

const down = (project) => sh(compose[0], [...compose.slice(1), '-p', project, '-f', file, 'down', '-v', '--remove-orphans']);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (x) => (Number.isFinite(x) ? `${Math.round(x)}`.padStart(7) : '      -');

const results = { compose: [], phase: [] };
for (let i = 0; i < runs; i++) {
  down('benchdc');
  results.compose.push(await record('benchdc', [...compose, '-p', 'benchdc', '-f', file, 'up', '-d']));
  down('benchdc');
  down('benchpc');
  results.phase.push(await record('benchpc', ['node', cli, '-f', join(dir, 'phase-compose.yaml'), '-p', 'benchpc', 'up', '--timeout', '3m']));
  down('benchpc');
}

console.log(`compose file: ${file} (${compose.join(' ')}; phase template healthcheck timing)\n`);
for (const [name, rs] of Object.entries(results)) {
  const label = name === 'compose' ? `${compose.join(' ')} up -d` : 'phase-compose up';
  console.log(`${label}  (ms from the command's start, Docker event times; run 1 of ${rs.length})`);
  console.log('  service           started    ready   gap (last dependency ready -> start)');
  const r = rs[0];
  for (const s of Object.keys(readyWhen)) console.log(`  ${s.padEnd(16)}${f(r.start[s])}  ${f(r.ready[s])}  ${f(r.gaps[s])}`);
  const gaps = rs.flatMap((x) => Object.values(x.gaps));
  console.log(`  median gap ${Math.round(median(gaps))} ms (all runs), total to ready ${Math.round(median(rs.map((x) => x.total)))} ms (median)\n`);
}
const ratio = median(results.phase.map((x) => x.total)) / median(results.compose.map((x) => x.total));
const gapP = median(results.phase.flatMap((x) => Object.values(x.gaps)));
console.log(`phase-compose / compose total: ${ratio.toFixed(2)}x (target <= 0.8x); phase-compose median gap ${Math.round(gapP)} ms (target <= 150 ms)`);
