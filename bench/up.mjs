#!/usr/bin/env node
// Benchmark: `phase-compose up` vs Compose's own `up` on the same generated compose file (the phase
// template's healthcheck timing), from Docker event timestamps, side by side in one run. Both start from
// nothing (no containers, no volumes); the order alternates between rounds.
// Compose is the test bed's (PHASE_COMPOSE_COMPOSE_ARGV, see scripts/testbed.sh), else `docker compose`
// when the plugin answers, else `docker-compose`. v1 runs `up -d`; v2 runs `up -d --wait`. The spec is
// generated for the Compose and Engine found (with v2 on Engine >= 25: start_interval healthchecks).
//
// For each service, from the Engine's events:
//   begun    the Engine began to start the container: its `network connect` event on the project network
//            (Docker logs it at the beginning of a start, before the runtime runs anything)
//   started  the container's `start` event (the Engine logs it once the process runs)
//   ready    healthy: the first successful run of its healthcheck command (Docker's own or phase-compose's
//            exec, whichever came first) or Docker's `health_status: healthy`; completed: `die` with exit 0;
//            started: `start`
// and, for each service that waits on others, the gap from its last dependency becoming ready to
//   begun    (the orchestrator's reaction: what phase-compose controls)
//   started  (reaction + the Engine's own container start)
// Last, the Engine's floor: `docker start` of a minimal container on a user-defined network, timed
// around the API call. No orchestrator's gap to the `start` event can be shorter than that.
//
//   node scripts/build.mjs && node bench/up.mjs [--rounds 3] [--busy]
//   set -a; eval "$(PHASE_COMPOSE_SWITCH_ENGINE=1 bash scripts/testbed.sh v2)"; set +a; node bench/up.mjs --rounds 5
// --baseline <another build's dist/cli.js> adds that build's `up` on the same file, in the same rounds
// (the order rotates), for a before/after in one run.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { requireQuietEngine } from './quiet.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli.js');
const arg = (name, dflt) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : dflt);
const rounds = Number(arg('rounds', 3)) || 1;
const baseline = arg('baseline', undefined);
const docker = new Docker();
const quiet = requireQuietEngine();

// The fixture stack with the phase template's healthcheck timing (the generator's defaults).
const dir = mkdtempSync(join(tmpdir(), 'pc-bench-'));
cpSync(join(root, 'test/fixtures/stack/.env'), join(dir, '.env'));
const sh = (cmd, args, opts = {}) => spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', ...opts });
const compose = process.env.PHASE_COMPOSE_COMPOSE_ARGV
  ? JSON.parse(process.env.PHASE_COMPOSE_COMPOSE_ARGV)
  : sh('docker', ['compose', 'version', '--short']).status === 0 ? ['docker', 'compose'] : ['docker-compose'];
const composeVersion = sh(compose[0], [...compose.slice(1), 'version', '--short']).stdout.trim().replace(/^v/, '');
const engineVersion = (await docker.version()).Version;
const v2 = !composeVersion.startsWith('1.');
const plain = (v) => /^\d+(\.\d+)*/.exec(v)?.[0] ?? v;
const spec = readFileSync(join(root, 'test/fixtures/stack/phase-compose.yaml'), 'utf8')
  .replace(/^\s+interval: 5s\n/m, '')
  .replace(/^target: .*$/m, `target: { compose: "${plain(composeVersion)}", engine: "${plain(engineVersion)}" }`);
writeFileSync(join(dir, 'phase-compose.yaml'), spec);
const gen = sh('node', [cli, 'generate', '-q', '-f', join(dir, 'phase-compose.yaml')]);
if (gen.status !== 0) throw new Error(gen.stderr);
const file = join(dir, 'docker-compose.yml');
const startInterval = readFileSync(file, 'utf8').includes('start_interval');
const exits = { compose: [], phase: [], baseline: [] };

// What each service waits for, and what "ready" means (the same rules as phase-compose's plan).
const deps = {
  postgres: [], redis: [],
  migrations: [['postgres', 'healthy'], ['redis', 'healthy']],
  backend: [['migrations', 'completed'], ['postgres', 'healthy'], ['redis', 'healthy']],
  worker: [['migrations', 'completed'], ['postgres', 'healthy'], ['redis', 'healthy']],
  'migrations-post': [['backend', 'healthy'], ['migrations', 'completed']],
};
const readyWhen = { postgres: 'healthy', redis: 'healthy', migrations: 'completed', backend: 'healthy', worker: 'started', 'migrations-post': 'completed' };
const services = Object.keys(readyWhen);

/** Runs argv while recording the project's container and network events; waits until all is ready. */
async function record(project, argv, who) {
  const events = [];
  const stream = await docker.getEvents({ filters: { type: ['container', 'network'] } });
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
  const r = sh(argv[0], argv.slice(1));
  // docker-compose up -d returns before everything is ready: wait for the events to say so.
  const deadline = Date.now() + 180_000;
  let a = analyse(project, events, t0);
  while (Date.now() < deadline && !services.every((s) => a.ready[s] !== undefined)) {
    await new Promise((res) => setTimeout(res, 200));
    a = analyse(project, events, t0);
  }
  stream.destroy();
  exits[who].push(r.status);
  // `docker compose up --wait` exits 1 when a job that nothing waits for (migrations-post) exits 0
  // (docker/compose 10596); the events say whether everything was ready, and its exit code is printed.
  if (r.status !== 0 && !(who === 'compose' && v2)) throw new Error(`${argv.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  if (!services.every((s) => a.ready[s] !== undefined)) throw new Error(`${argv.join(' ')}: not everything was ready within 180 s`);
  return a;
}

function analyse(project, events, t0) {
  const service = {}, begun = {}, start = {}, ready = {}, execCmd = {};
  const ms = (e) => e.timeNano / 1e6 - t0;
  for (const e of events) {
    const at = e.Actor.Attributes;
    if (e.Type === 'network') {
      // `connect` of a container to the project's network: the Engine began starting it.
      const s = service[at.container];
      if (e.Action === 'connect' && s && at.name === `${project}_default` && begun[s] === undefined) begun[s] = ms(e);
      continue;
    }
    if (at['com.docker.compose.project'] !== project || at['com.docker.compose.oneoff'] === 'True') continue;
    const s = at['com.docker.compose.service'];
    if (!s) continue;
    service[e.Actor.ID] = s;
    const act = e.Action;
    if (act === 'start') start[s] = ms(e);
    if (act.startsWith('exec_create')) execCmd[at.execID] = act;
    if (start[s] === undefined || ready[s] !== undefined) continue;
    const want = readyWhen[s];
    if (want === 'started' && act === 'start') ready[s] = ms(e);
    if (want === 'completed' && act === 'die' && at.exitCode === '0') ready[s] = ms(e);
    if (want === 'healthy' && act === 'health_status: healthy') ready[s] = ms(e);
    // The healthcheck command (Docker's own run or phase-compose's) exiting 0.
    if (want === 'healthy' && act.startsWith('exec_die') && at.exitCode === '0') {
      const cmd = execCmd[at.execID] ?? '';
      if (/pg_isready|redis-cli|\/health\//.test(cmd)) ready[s] = ms(e);
    }
  }
  const gapBegun = {}, gapStarted = {}, engineStart = {};
  for (const s of services) {
    if (begun[s] !== undefined && start[s] !== undefined) engineStart[s] = start[s] - begun[s];
    if (!deps[s].length) continue;
    const last = Math.max(...deps[s].map(([d]) => ready[d] ?? NaN));
    gapBegun[s] = begun[s] - last;
    gapStarted[s] = start[s] - last;
  }
  const total = Math.max(...services.map((s) => ready[s] ?? NaN));
  return { begun, start, ready, gapBegun, gapStarted, engineStart, total };
}

const down = (project) => sh(compose[0], [...compose.slice(1), '-p', project, '-f', file, 'down', '-v', '--remove-orphans', '--timeout', '2']);
const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (x, w = 7) => (Number.isFinite(x) ? `${Math.round(x)}` : '-').padStart(w);

const runs = { compose: [], phase: [], baseline: [] };
const floor = [];
const label = { compose: `${compose.join(' ')} up -d${v2 ? ' --wait' : ''}`, phase: 'phase-compose up', baseline: 'baseline up' };
const how = {
  compose: (p) => [...compose, '-p', p, '-f', file, 'up', '-d', ...(v2 ? ['--wait'] : [])],
  phase: (p) => ['node', cli, '-f', join(dir, 'phase-compose.yaml'), '-p', p, 'up', '--timeout', '3m'],
  baseline: (p) => ['node', baseline, '-f', join(dir, 'phase-compose.yaml'), '-p', p, 'up', '--timeout', '3m'],
};
const contenders = ['compose', 'phase', ...(baseline ? ['baseline'] : [])];
try {
  for (let round = 0; round < rounds; round++) {
    // Alternate (two contenders) or rotate (three), so no one always runs first.
    const order = contenders.length === 2 ? (round % 2 ? ['phase', 'compose'] : ['compose', 'phase']) : contenders.map((_, i) => contenders[(i + round) % contenders.length]);
    for (const who of order) {
      const project = `bench${who}${round}`;
      down(project);
      runs[who].push(await record(project, how[who](project), who));
      down(project);
      process.stderr.write(`round ${round + 1}/${rounds}: ${label[who].padEnd(22)} total ${Math.round(runs[who].at(-1).total)} ms\n`);
    }
  }
  // The Engine's own floor: `start` of a minimal container (the app image, `true`) on a user-defined
  // network, timed around the API call, nothing else running.
  const net = await docker.createNetwork({ Name: `benchfloor${process.pid}` });
  try {
    for (let i = 0; i < 7; i++) {
      const c = await docker.createContainer({ Image: 'phase-compose-fixture-app:latest', Cmd: ['true'], HostConfig: { NetworkMode: net.id } });
      const t = performance.now();
      await c.start();
      floor.push(performance.now() - t);
      await c.wait();
      await c.remove();
    }
  } finally {
    await net.remove();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\n${quiet}`);
console.log(`Engine ${engineVersion}, Compose ${composeVersion} (${compose.join(' ')}); phase template healthcheck timing${startInterval ? ' with start_interval' : ''}; ${rounds} round(s), order alternating.`);
console.log(`exit codes: ${contenders.map((w) => `${label[w]}: ${exits[w].join(', ')}`).join('; ')}`);
if (baseline) console.log(`baseline: ${baseline}`);
console.log('Times in ms from the command\'s start, from Docker event timestamps; each cell is the median over the rounds.\n');
for (const who of contenders) {
  const rs = runs[who];
  const col = (k, s) => median(rs.map((r) => r[k][s]));
  console.log(`${label[who]}`);
  console.log('| service | begun | started | ready | engine start (begun -> started) | gap: last dependency ready -> begun | gap: -> started |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const s of services) {
    console.log(`| ${s} | ${f(col('begun', s))} | ${f(col('start', s))} | ${f(col('ready', s))} | ${f(col('engineStart', s))} | ${f(col('gapBegun', s))} | ${f(col('gapStarted', s))} |`);
  }
  console.log('');
}
const all = (who, k) => runs[who].flatMap((r) => Object.values(r[k]));
const total = (who) => median(runs[who].map((r) => r.total));
console.log(`| | ${label.compose} | phase-compose up | target |`);
console.log('|---|---:|---:|---|');
console.log(`| total to ready (median of rounds) | ${f(total('compose'))} | ${f(total('phase'))} | phase-compose <= 0.8x: ${(total('phase') / total('compose')).toFixed(2)}x |`);
console.log(`| median gap, dependency ready -> Engine start event | ${f(median(all('compose', 'gapStarted')))} | ${f(median(all('phase', 'gapStarted')))} | <= 150 |`);
console.log(`| median gap, dependency ready -> start begun | ${f(median(all('compose', 'gapBegun')))} | ${f(median(all('phase', 'gapBegun')))} | |`);
console.log(`| median Engine container start (begun -> start event) | ${f(median(all('compose', 'engineStart')))} | ${f(median(all('phase', 'engineStart')))} | |`);
console.log(`\nEngine floor: docker start of a minimal container on a user-defined network, median of ${floor.length}: ${Math.round(median(floor))} ms (min ${Math.round(Math.min(...floor))}).`);
const per = runs.phase.map((r, i) => (r.total / runs.compose[i].total).toFixed(2)).join(', ');
console.log(`\nper round, phase-compose / compose total: ${per}`);
if (baseline) {
  console.log(`baseline total to ready (median of rounds): ${f(total('baseline'))} ms = ${(total('baseline') / total('compose')).toFixed(2)}x compose; phase-compose / baseline: ${(total('phase') / total('baseline')).toFixed(2)}x`);
  console.log(`per round, phase-compose / baseline total: ${runs.phase.map((r, i) => (r.total / runs.baseline[i].total).toFixed(2)).join(', ')}`);
}
