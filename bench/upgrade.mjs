#!/usr/bin/env node
// Benchmark (issue #13): the same v1 -> v2 upgrade of the upgrade fixture stack (test/fixtures/upgrade: 2
// backend replicas behind nginx) done two ways in one run, each on a fresh stack brought up on v1 with
// `phase-compose up`:
//   upgrade   the command under test (--cmd), by default `phase-compose upgrade --yes`
//   compose   Compose's own `up -d` after FIXTURE_APP_VERSION changed to v2 in the stack's .env
// Under load the whole time: --rate requests/s through nginx's loopback port to /load/ (a database write
// and read), and a client inside the stack's network calling http://backend:8000/load/ every 100 ms.
// Load starts --settle seconds before the command and stops --settle seconds after it returned.
// Prints a table: the command's total time, failed requests on each path, and the answers per version.
//
//   set -a; eval "$(PHASE_COMPOSE_SWITCH_ENGINE=1 bash scripts/testbed.sh v2)"; set +a
//   node scripts/build.mjs && node --import tsx bench/upgrade.mjs [--rounds 1] [--rate 50] [--settle 5]
//        [--cmd '["node","{cli}","-f","{spec}","-p","{project}","upgrade","--yes"]'] [--no-edit] [--show] [--busy]
// --show prints the command's own output (its summary: the time of each step) after each round.
// --cmd is a JSON argv; {cli} {spec} {project} {dir} {compose_file} {version} are replaced. By default the
// bench writes FIXTURE_APP_VERSION=v2 into the stack's .env before the command; --no-edit leaves that to
// the command (e.g. `upgrade --to {version}`). The order of the two ways alternates between rounds.
import { join } from 'node:path';
import { composeArgv } from '../test/e2e/helpers/compose.ts';
import { composeDown } from '../test/e2e/helpers/docker.ts';
import { formatLoad, formatPoll, removePollers, startLoad, startPoller } from '../test/e2e/helpers/load.ts';
import { runAsync } from '../test/e2e/helpers/run.ts';
import { CLI } from '../test/e2e/helpers/stack.ts';
import { cliArgv, generateUpgradeStack, projectNetwork, serviceContainers, stackEnv } from '../test/e2e/helpers/upgrade.ts';
import { requireQuietEngine } from './quiet.mjs';

const arg = (name, dflt) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : dflt);
const rounds = Math.max(1, Number(arg('rounds', 1)) || 1);
const rate = Number(arg('rate', 50)) || 50;
const settleMs = (Number(arg('settle', 5)) || 0) * 1000;
const edit = !process.argv.includes('--no-edit');
const show = process.argv.includes('--show');
const cmdTemplate = JSON.parse(arg('cmd', JSON.stringify(['node', '{cli}', '-f', '{spec}', '-p', '{project}', 'upgrade', '--yes'])));
if (!Array.isArray(cmdTemplate) || !cmdTemplate.length || !cmdTemplate.every((a) => typeof a === 'string')) {
  throw new Error('--cmd must be a JSON array of strings');
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quiet = requireQuietEngine();

/** Brings a fresh stack up on v1, upgrades it to v2 the given way under load, tears it down. */
async function once(way, round) {
  const stack = await generateUpgradeStack(`bench${way}`);
  const fill = (a) => a.replaceAll('{cli}', CLI).replaceAll('{spec}', stack.spec).replaceAll('{project}', stack.project)
    .replaceAll('{dir}', stack.dir).replaceAll('{compose_file}', stack.composeFile).replaceAll('{version}', 'v2');
  const [cmd, ...pre] = composeArgv();
  const argv = way === 'compose'
    ? [cmd, ...pre, '-p', stack.project, '-f', stack.composeFile, 'up', '-d']
    : cmdTemplate.map(fill);
  try {
    const up = await runAsync('node', cliArgv(stack, 'up'), { env: stackEnv() });
    if (up.code !== 0) throw new Error(`phase-compose up (v1) failed:\n${up.stdout}\n${up.stderr}`);
    const poller = await startPoller({ project: stack.project, network: projectNetwork(stack.project) });
    const load = startLoad({ port: stack.port, rate, durationMs: 15 * 60_000 });
    await sleep(settleMs);
    if (way === 'compose' || edit) stack.setVersion('v2');
    const t = Date.now();
    const r = await runAsync(argv[0], argv.slice(1), { cwd: stack.dir, env: stackEnv(), timeoutMs: 10 * 60_000 });
    const total = Date.now() - t;
    await sleep(settleMs);
    const l = await load.stop();
    const p = await poller.stop();
    const images = serviceContainers(stack.project, 'backend').map((c) => c.image.replace(/^.*:/, '')).join(',');
    if (r.code !== 0) console.error(`[${way} round ${round}] ${argv.join(' ')} exited ${r.code}:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
    else if (show && way === 'upgrade') console.error(`[${way} round ${round}] its output:\n${r.stdout.slice(-4000)}${r.stderr.slice(-4000)}`);
    console.error(`[${way} round ${round}] nginx: ${formatLoad(l)}\n[${way} round ${round}] in network: ${formatPoll(p)}`);
    if (way === 'upgrade' && p.failures.length) console.error(`[${way} round ${round}] failures in network: ${JSON.stringify(p.failures.slice(0, 5))}`);
    if (way === 'upgrade' && r.code === 0) for (const line of r.stdout.split('\n').filter((x) => /answers to the name until it stops|holding/.test(x))) console.error(`[${way} round ${round}] it said: ${line}`);
    return { way, round, code: r.code, total, l, p, images };
  } finally {
    removePollers(stack.project);
    composeDown(stack);
    stack.cleanup();
  }
}

const rows = [];
for (let round = 1; round <= rounds; round++) {
  const order = round % 2 ? ['upgrade', 'compose'] : ['compose', 'upgrade'];
  for (const way of order) rows.push(await once(way, round));
}

const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
const versions = (v) => Object.entries(v).sort().map(([k, n]) => `${k}:${n}`).join(' ') || '-';
console.log(`\n${quiet}`);
console.log(`v1 -> v2 under ${rate} req/s through nginx + 10 req/s to backend:8000 in the network (Compose ${composeArgv().join(' ')})`);
console.log(`upgrade command: ${cmdTemplate.join(' ')}${edit ? ' (after FIXTURE_APP_VERSION=v2 in .env)' : ''}\n`);
console.log(`${pad('way', 8)} ${lpad('round', 5)} ${lpad('exit', 4)} ${lpad('total s', 8)} ${lpad('nginx sent', 10)} ${lpad('failed', 7)}  ${pad('2xx by version', 18)} ${lpad('in-net sent', 11)} ${lpad('failed', 7)}  ${pad('ok by version', 16)} backends after`);
for (const r of rows) {
  console.log(`${pad(r.way, 8)} ${lpad(r.round, 5)} ${lpad(r.code, 4)} ${lpad((r.total / 1000).toFixed(1), 8)} ${lpad(r.l.sent, 10)} ${lpad(r.l.failed, 7)}  ${pad(versions(r.l.versions), 18)} ${lpad(r.p.sent, 11)} ${lpad(r.p.fail, 7)}  ${pad(versions(r.p.versions), 16)} ${r.images}`);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const tu = median(rows.filter((r) => r.way === 'upgrade').map((r) => r.total));
const tc = median(rows.filter((r) => r.way === 'compose').map((r) => r.total));
const failed = (way) => rows.filter((r) => r.way === way).reduce((n, r) => n + r.l.failed + r.p.fail, 0);
console.log(`\nmedian total time: upgrade ${(tu / 1000).toFixed(1)} s, compose ${(tc / 1000).toFixed(1)} s: ${(tu / tc).toFixed(2)}x (target <= 1.5x)`);
console.log(`failed requests, both paths, all rounds: upgrade ${failed('upgrade')} (target 0), compose ${failed('compose')}`);
console.log(`(stack files: ${join('test', 'fixtures', 'upgrade')})`);
