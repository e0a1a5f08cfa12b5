#!/usr/bin/env node
// Benchmark: `phase-compose backup` (the encrypted whole-instance archive, read back before it is kept) and
// `phase-compose restore` of it, beside plain `pg_dump -Fc` / `pg_restore` through `docker exec` on the same
// data, in one run.
//
// One fixture stack seeded with --count audit events. Each round times, in alternating order:
//   plain backup     docker exec postgres pg_dump -Fc  > file on the host
//   archive backup   phase-compose backup --out FILE   (pg_dump streamed through tar + OpenPGP, then read back)
//   plain restore    docker exec -i postgres pg_restore --clean --if-exists --single-transaction < file
//   archive restore  phase-compose restore FILE --yes  (full read first, then the stream into pg_restore;
//                    includes stopping and starting the app containers, as a restore must)
// Before each method, untimed: no autovacuum running (a restore of 1M rows sets one off), every container
// of the stack healthy (a restore restarts the app), a CHECKPOINT: no method pays for the one before.
// Prints per method the median seconds, MB/s of the dump's bytes, and the ratio to the plain tool.
//
// --baseline <another build's dist/cli.js> adds that build's `backup` and `restore` (of the same archive) to
// the same rounds, the order rotating, so a change is measured against the build before it side by side.
//
//   node scripts/build.mjs && node bench/backup.mjs [--rounds 3] [--count 1000000] [--baseline /abs/path/cli.js]
import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli.js');
const arg = (name, dflt) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : dflt);
const rounds = Number(arg('rounds', 3));
const count = Number(arg('count', 1_000_000));
const baseline = arg('baseline', undefined);
const project = `pcbenchbackup${process.pid}`;

const dir = mkdtempSync(join(tmpdir(), 'pc-bench-backup-'));
cpSync(join(root, 'test/fixtures/stack/.env'), join(dir, '.env'));
writeFileSync(join(dir, 'phase-compose.yaml'), readFileSync(join(root, 'test/fixtures/stack/phase-compose.yaml'), 'utf8'));
const spec = join(dir, 'phase-compose.yaml');
const env = { ...process.env, PHASE_COMPOSE_BACKUP_PASSPHRASE: 'bench passphrase, long enough' };
const sh = (cmd, args, opts = {}) => spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', maxBuffer: 256 << 20, env, ...opts });
const must = (cmd, args, opts) => {
  const r = sh(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout ?? ''}\n${r.stderr ?? ''}`);
  return r;
};
const containerOf = (service) =>
  must('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`]).stdout.trim();
const time = (f) => {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const backups = ['pg_dump -Fc', 'phase-compose backup', ...(baseline ? ['baseline backup'] : [])];
const restores = ['pg_restore', 'phase-compose restore', ...(baseline ? ['baseline restore'] : [])];
const methods = [...backups, ...restores];
const secs = Object.fromEntries(methods.map((m) => [m, []]));
let dumpBytes = 0;
let archiveBytes = 0;
try {
  must('node', [cli, '-f', spec, '-p', project, 'up', '--timeout', '4m']);
  const backend = containerOf('backend');
  const postgres = containerOf('postgres');
  must('docker', ['exec', backend, 'python', 'manage.py', 'seed_events', 'Bench Org', '--count', String(count), '--days', '60']);
  const login = ['-U', 'phase_fixture', '-d', 'phase_fixture'];
  const psql = (sql) => must('docker', ['exec', postgres, 'psql', '-X', '-q', '-At', ...login, '-c', sql]).stdout.trim();
  process.stderr.write(`seeded ${psql('SELECT count(*) FROM api_secretevent')} events; database ${psql("SELECT pg_size_pretty(pg_database_size('phase_fixture'))")}\n`);
  const dump = join(dir, 'plain.dump');
  const run = {
    'pg_dump -Fc': () => {
      rmSync(dump, { force: true });
      const fd = openSync(dump, 'w', 0o600);
      try {
        must('docker', ['exec', postgres, 'pg_dump', ...login, '-Fc'], { stdio: ['ignore', fd, 'pipe'], encoding: 'buffer' });
      } finally {
        closeSync(fd);
      }
      dumpBytes = statSync(dump).size;
    },
    'phase-compose backup': (round) => {
      const out = join(dir, `archive-${round}.pcbak`);
      must('node', [cli, '-f', spec, '-p', project, 'backup', '--out', out]);
      archiveBytes = statSync(out).size;
    },
    'pg_restore': () => {
      const fd = openSync(dump, 'r');
      try {
        must('docker', ['exec', '-i', postgres, 'pg_restore', ...login, '--clean', '--if-exists', '--no-owner', '--single-transaction', '--exit-on-error'], { stdio: [fd, 'pipe', 'pipe'] });
      } finally {
        closeSync(fd);
      }
    },
    'phase-compose restore': (round) => must('node', [cli, '-f', spec, '-p', project, 'restore', join(dir, `archive-${round}.pcbak`), '--yes']),
    'baseline backup': (round) => must('node', [baseline, '-f', spec, '-p', project, 'backup', '--out', join(dir, `baseline-${round}.pcbak`)]),
    'baseline restore': (round) => must('node', [baseline, '-f', spec, '-p', project, 'restore', join(dir, `archive-${round}.pcbak`), '--yes']),
  };
  const rotate = (xs, n) => xs.map((_, i) => xs[(i + n) % xs.length]);
  for (let round = 1; round <= rounds; round++) {
    // Backups first (restore needs this round's archive); within each group the order rotates (a pair alternates).
    for (const group of [backups, restores]) {
      for (const name of rotate(group, round - 1)) {
        // Each method starts from a quiet stack, untimed: no autovacuum runs, the restarted app has
        // booted (healthy), and a checkpoint has written what the last method left dirty.
        const settled = time(() => {
          const busy = () =>
            psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'") !== '0' ||
            must('docker', ['ps', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Status}}']).stdout.includes('health: starting');
          while (busy()) spawnSync('sleep', ['0.1']);
        });
        if (settled > 0.2) process.stderr.write(`round ${round}: (waited ${settled.toFixed(2)}s for autovacuum and the app's start)\n`);
        psql('CHECKPOINT');
        const s = time(() => run[name](round));
        secs[name].push(s);
        process.stderr.write(`round ${round}: ${name.padEnd(22)} ${s.toFixed(2)}s\n`);
      }
    }
    rmSync(join(dir, `archive-${round}.pcbak`), { force: true });
    rmSync(join(dir, `baseline-${round}.pcbak`), { force: true });
  }
  const mb = dumpBytes / 1e6;
  const base = Object.fromEntries([...backups.map((m) => [m, 'pg_dump -Fc']), ...restores.map((m) => [m, 'pg_restore'])]);
  console.log(`\n${count} audit events; dump ${mb.toFixed(1)} MB (pg_dump -Fc), archive ${(archiveBytes / 1e6).toFixed(1)} MB; ${rounds} rounds, medians\n`);
  console.log(`${'method'.padEnd(24)}${'seconds'.padStart(9)}${'MB/s'.padStart(9)}${'ratio'.padStart(8)}   per-round ratios`);
  for (const m of methods) {
    const med = median(secs[m]);
    const ratios = secs[m].map((s, i) => (s / secs[base[m]][i]).toFixed(2)).join(' ');
    console.log(`${m.padEnd(24)}${med.toFixed(2).padStart(9)}${(mb / med).toFixed(1).padStart(9)}${(med / median(secs[base[m]])).toFixed(2).padStart(7)}x   ${ratios}`);
  }
  if (baseline) {
    console.log(`\nbaseline: ${baseline}`);
    for (const [ours, theirs] of [['phase-compose backup', 'baseline backup'], ['phase-compose restore', 'baseline restore']]) {
      const per = secs[ours].map((s, i) => (s / secs[theirs][i]).toFixed(2)).join(' ');
      console.log(`${ours} / ${theirs}: ${(median(secs[ours]) / median(secs[theirs])).toFixed(2)}x (per round ${per})`);
    }
  }
  console.log('\nMB/s: the dump\'s bytes over the whole command. Target: both phase-compose commands at most 1.15x the plain tool.');
} finally {
  sh('node', [cli, '-f', spec, '-p', project, 'down', '-v']);
  rmSync(dir, { recursive: true, force: true });
}
