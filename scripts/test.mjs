#!/usr/bin/env node
// `npm test`: build, typecheck, unit tests, then the Docker end-to-end tests, and one closing line
// "N passed, N failed" over both suites.
// With CI=true the Docker tests always run: the test bed (scripts/testbed.sh) is installed and started
// first, and a failure to start it fails the run. Locally, without a reachable Docker Engine, they are
// skipped with a clear message and the command to run them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const ci = process.env.CI === 'true' || process.env.CI === '1';
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit' }).status ?? 1;
const reports = '.tmp/test-reports';
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });
const totals = { passed: 0, failed: 0, skipped: 0 };
const vitest = (project) => {
  const out = join(reports, `${project}.json`);
  const code = run('npx', ['vitest', 'run', '--project', project, '--reporter=default', '--reporter=json', `--outputFile.json=${out}`]);
  if (existsSync(out)) {
    const r = JSON.parse(readFileSync(out, 'utf8'));
    totals.passed += r.numPassedTests;
    totals.failed += r.numFailedTests;
    totals.skipped += r.numPendingTests + r.numTodoTests;
  } else if (code !== 0) totals.failed += 1;
  return code;
};
const finish = (code) => {
  console.log(`\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
  process.exit(code);
};

if (run('node', ['scripts/build.mjs']) !== 0) finish(1);
if (run('npx', ['tsc', '--noEmit']) !== 0) finish(1);
const unit = vitest('unit');

const dockerUp = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
if (!ci && !dockerUp && process.env.PHASE_COMPOSE_E2E !== '1') {
  console.log('\nDocker end-to-end tests SKIPPED: no Docker Engine answers `docker info`.');
  console.log('Run them with: CI=true npm test   (installs and starts Docker and the test bed: scripts/testbed.sh)');
  finish(unit);
}
if (run('bash', ['scripts/testbed.sh']) !== 0) {
  console.error('The Docker test bed could not be started (scripts/testbed.sh failed).');
  totals.failed += 1;
  finish(1);
}
const e2e = vitest('e2e');
finish(unit || e2e);
