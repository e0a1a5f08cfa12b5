#!/usr/bin/env node
// Benchmark: `phase-compose backup` (the encrypted whole-instance archive, read back before it is kept) and
// `phase-compose restore` of it, beside plain `pg_dump -Fc` / `pg_restore` through `docker exec` on the same
// data, in one run.
//
// One fixture stack seeded with --count audit events. Each round times, in rotating order:
//   pg_dump -Fc          docker exec postgres pg_dump -Fc > file on the host (pg_dump's own zlib level, 6)
//   pg_dump -Fc -Z 1     the same at backup's default level: the tool's own cost, like for like
//   phase-compose backup phase-compose backup --out FILE (pg_dump -Z 1 streamed through tar + OpenPGP, read back)
//   backup --compress 6  the same at pg_dump's level: like for like with plain pg_dump -Fc
//   pg_restore           docker exec -i postgres pg_restore --clean --if-exists --single-transaction < the -Fc file
//   pg_restore (-Z 1)    the same, of the -Z 1 file
//   phase-compose restore  phase-compose restore FILE --yes  (full read first, then the stream into pg_restore;
//                        includes stopping and starting the app containers, as a restore must)
//   stop, pg_restore, start  the same by hand, of the -Z 1 file: docker stop of the app's containers (at once),
//                        the pg_restore above, docker start: what the tool's restore does, less its checks
// Before each method, untimed: every container of the stack healthy (a restore restarts the app), no
// autovacuum running and none due (VACUUM ANALYZE: a restore of 1M rows sets one off up to a minute
// later), a CHECKPOINT: no method pays for the one before.
// Prints per method the median seconds, MB/s of its dump's bytes, the ratio to plain `pg_dump -Fc` or
// `pg_restore` (the target: at most 1.15x), and the like-for-like ratios at the same zlib level. Then where
// the tool's restore spends its time, from its own progress lines: the check, the app's stop, pg_restore,
// the app's start (and so how long the app was down).
//
// --baseline <another build's dist/cli.js> adds that build's `backup` and `restore` (of the same archive) to
// the same rounds, the order rotating, so a change is measured against the build before it side by side.
//
//   node scripts/build.mjs && node bench/backup.mjs [--rounds 3] [--count 1000000] [--baseline /abs/path/cli.js] [--busy]
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, cpSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireQuietEngine } from './quiet.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli.js');
const arg = (name, dflt) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : dflt);
const rounds = Number(arg('rounds', 3));
const count = Number(arg('count', 1_000_000));
const baseline = arg('baseline', undefined);
const project = `pcbenchbackup${process.pid}`;
const quiet = requireQuietEngine();

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
const timeAsync = async (f) => {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};
// A restore's phases, from its own progress lines on stderr (seconds from launch): the first
// "restore: stopping" (start-up and the check done), "restore: pg_restore" (the app stopped), the first
// "restore: starting" (pg_restore ended), and the exit (the app started again).
const PHASES = [['check', /^restore: stopping /], ['stop', /^restore: pg_restore /], ['pg_restore', /^restore: starting /]];
const phases = {}; // method -> { check: [], stop: [], pg_restore: [], start: [] }
const runTimed = (name, cmd, args) =>
  new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const at = () => Number(process.hrtime.bigint() - t0) / 1e9;
    const seen = {};
    let err = '';
    let held = '';
    const child = spawn(cmd, args, { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (b) => {
      err += b;
      const lines = (held + b).split('\n');
      held = lines.pop();
      for (const l of lines) for (const [p, re] of PHASES) if (seen[p] === undefined && re.test(l)) seen[p] = at();
    });
    child.on('error', rej);
    child.on('exit', (code) => {
      if (code !== 0) return rej(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${err}`));
      if (PHASES.some(([p]) => seen[p] === undefined)) return rej(new Error(`no phase lines in the restore's output:\n${err}`));
      const ends = [...PHASES.map(([p]) => seen[p]), at()];
      const ph = (phases[name] ??= { check: [], stop: [], pg_restore: [], start: [] });
      ['check', 'stop', 'pg_restore', 'start'].forEach((p, i) => ph[p].push(ends[i] - (i ? ends[i - 1] : 0)));
      res();
    });
  });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const backups = ['pg_dump -Fc', 'pg_dump -Fc -Z 1', 'phase-compose backup', 'backup --compress 6', ...(baseline ? ['baseline backup'] : [])];
const restores = ['pg_restore', 'pg_restore (-Z 1)', 'stop, pg_restore, start', 'phase-compose restore', ...(baseline ? ['baseline restore'] : [])];
const methods = [...backups, ...restores];
const secs = Object.fromEntries(methods.map((m) => [m, []]));
const bytes = {}; // method -> bytes of what it wrote (a restore: of the dump it read)
try {
  must('node', [cli, '-f', spec, '-p', project, 'up', '--timeout', '4m']);
  const backend = containerOf('backend');
  const postgres = containerOf('postgres');
  must('docker', ['exec', backend, 'python', 'manage.py', 'seed_events', 'Bench Org', '--count', String(count), '--days', '60']);
  const login = ['-U', 'phase_fixture', '-d', 'phase_fixture'];
  const psql = (sql) => must('docker', ['exec', postgres, 'psql', '-X', '-q', '-At', ...login, '-c', sql]).stdout.trim();
  process.stderr.write(`seeded ${psql('SELECT count(*) FROM api_secretevent')} events; database ${psql("SELECT pg_size_pretty(pg_database_size('phase_fixture'))")}\n`);
  const dumps = { 'pg_dump -Fc': join(dir, 'plain.dump'), 'pg_dump -Fc -Z 1': join(dir, 'plain-z1.dump') };
  const pgDump = (name, extra) => () => {
    rmSync(dumps[name], { force: true });
    const fd = openSync(dumps[name], 'w', 0o600);
    try {
      must('docker', ['exec', postgres, 'pg_dump', ...login, '-Fc', ...extra], { stdio: ['ignore', fd, 'pipe'], encoding: 'buffer' });
    } finally {
      closeSync(fd);
    }
    bytes[name] = statSync(dumps[name]).size;
  };
  // The app's containers, as the tool's restore stops them: every running one of the project but the data services.
  const appContainers = () =>
    must('docker', ['ps', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.ID}} {{.Label "com.docker.compose.service"}}']).stdout
      .trim().split('\n').map((l) => l.split(' ')).filter(([, svc]) => svc !== 'postgres' && svc !== 'redis').map(([id]) => id);
  const byHand = (name, from) => () => {
    const apps = appContainers();
    must('docker', ['stop', '-t', '10', ...apps]);
    try {
      pgRestore(name, from)();
    } finally {
      must('docker', ['start', ...apps]);
    }
  };
  const pgRestore = (name, from) => () => {
    const fd = openSync(dumps[from], 'r');
    try {
      must('docker', ['exec', '-i', postgres, 'pg_restore', ...login, '--clean', '--if-exists', '--no-owner', '--single-transaction', '--exit-on-error'], { stdio: [fd, 'pipe', 'pipe'] });
    } finally {
      closeSync(fd);
    }
    bytes[name] = bytes[from];
  };
  const archive = (name, build, file, extra = []) => (round) => {
    const out = join(dir, `${file}-${round}.pcbak`);
    must('node', [build, '-f', spec, '-p', project, 'backup', '--out', out, ...extra]);
    bytes[name] = statSync(out).size;
  };
  const restore = (name, build) => async (round) => {
    await runTimed(name, 'node', [build, '-f', spec, '-p', project, 'restore', join(dir, `archive-${round}.pcbak`), '--yes']);
    bytes[name] = bytes['phase-compose backup'];
  };
  const run = {
    'pg_dump -Fc': pgDump('pg_dump -Fc', []),
    'pg_dump -Fc -Z 1': pgDump('pg_dump -Fc -Z 1', ['-Z', '1']),
    'phase-compose backup': archive('phase-compose backup', cli, 'archive'),
    'backup --compress 6': archive('backup --compress 6', cli, 'archive-z6', ['--compress', '6']),
    'baseline backup': archive('baseline backup', baseline, 'baseline'),
    'pg_restore': pgRestore('pg_restore', 'pg_dump -Fc'),
    'pg_restore (-Z 1)': pgRestore('pg_restore (-Z 1)', 'pg_dump -Fc -Z 1'),
    'stop, pg_restore, start': byHand('stop, pg_restore, start', 'pg_dump -Fc -Z 1'),
    'phase-compose restore': restore('phase-compose restore', cli),
    'baseline restore': restore('baseline restore', baseline),
  };
  const rotate = (xs, n) => xs.map((_, i) => xs[(i + n) % xs.length]);
  for (let round = 1; round <= rounds; round++) {
    // Backups first (restore needs this round's archive); within each group the order rotates (a pair alternates).
    for (const group of [backups, restores]) {
      for (const name of rotate(group, round - 1)) {
        // Each method starts from a quiet stack, untimed: the restarted app has booted (healthy), no
        // autovacuum runs and none is due (a restore of 1M rows sets one off, but only at the launcher's
        // next wake-up, up to a minute later: in whichever method runs next. VACUUM ANALYZE leaves it
        // nothing to do), and a checkpoint has written what the last method left dirty.
        const settled = time(() => {
          const busy = () =>
            psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'") !== '0' ||
            must('docker', ['ps', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Status}}']).stdout.includes('health: starting');
          while (busy()) spawnSync('sleep', ['0.1']);
          psql('VACUUM ANALYZE');
        });
        process.stderr.write(`round ${round}: (settled in ${settled.toFixed(2)}s: the app's start, autovacuum, VACUUM ANALYZE)\n`);
        psql('CHECKPOINT');
        const s = await timeAsync(() => run[name](round));
        secs[name].push(s);
        process.stderr.write(`round ${round}: ${name.padEnd(22)} ${s.toFixed(2)}s\n`);
      }
    }
    for (const f of ['archive', 'archive-z6', 'baseline']) rmSync(join(dir, `${f}-${round}.pcbak`), { force: true });
  }
  const base = Object.fromEntries([...backups.map((m) => [m, 'pg_dump -Fc']), ...restores.map((m) => [m, 'pg_restore'])]);
  const mb = (m) => bytes[m] / 1e6;
  console.log(`\n${quiet}`);
  console.log(`${count} audit events; ${rounds} rounds, medians; ratio: to plain pg_dump -Fc / pg_restore (target at most 1.15x)\n`);
  console.log(`${'method'.padEnd(24)}${'seconds'.padStart(9)}${'MB'.padStart(7)}${'MB/s'.padStart(8)}${'ratio'.padStart(8)}   per-round ratios`);
  for (const m of methods) {
    const med = median(secs[m]);
    const ratios = secs[m].map((s, i) => (s / secs[base[m]][i]).toFixed(2)).join(' ');
    console.log(`${m.padEnd(24)}${med.toFixed(2).padStart(9)}${mb(m).toFixed(1).padStart(7)}${(mb(m) / med).toFixed(1).padStart(8)}${(med / median(secs[base[m]])).toFixed(2).padStart(7)}x   ${ratios}`);
  }
  const pairs = [
    ['phase-compose backup', 'pg_dump -Fc -Z 1'],
    ['backup --compress 6', 'pg_dump -Fc'],
    ['phase-compose restore', 'pg_restore (-Z 1)'],
    ['phase-compose restore', 'stop, pg_restore, start'],
    ...(baseline ? [['phase-compose backup', 'baseline backup'], ['phase-compose restore', 'baseline restore']] : []),
  ];
  console.log(`\nside by side (the tool's own cost at the same zlib level${baseline ? `; baseline: ${baseline}` : ''}):`);
  for (const [ours, theirs] of pairs) {
    const per = secs[ours].map((s, i) => (s / secs[theirs][i]).toFixed(2)).join(' ');
    console.log(`${`${ours} / ${theirs}`.padEnd(48)}${(median(secs[ours]) / median(secs[theirs])).toFixed(2)}x (per round ${per})`);
  }
  console.log('\nwhere a restore\'s time goes (medians, seconds; from its own progress lines):');
  console.log(`${'method'.padEnd(24)}${'check'.padStart(9)}${'stop'.padStart(9)}${'pg_restore'.padStart(12)}${'start'.padStart(9)}   app down: stop + pg_restore + start`);
  for (const [m, ph] of Object.entries(phases)) {
    const down = ph.stop.map((x, i) => x + ph.pg_restore[i] + ph.start[i]);
    console.log(`${m.padEnd(24)}${median(ph.check).toFixed(2).padStart(9)}${median(ph.stop).toFixed(2).padStart(9)}${median(ph.pg_restore).toFixed(2).padStart(12)}${median(ph.start).toFixed(2).padStart(9)}   ${median(down).toFixed(2)}`);
  }
  console.log('check: start-up, the passphrase, every checksum, pg_restore --list (before anything stops). stop: the app\'s');
  console.log('containers stopping (their own graceful exit). start: starting them again. pg_restore here is the same');
  console.log('single transaction plain pg_restore runs: the rest is what the ratio above pays for the app being stopped.');
  console.log('\nMB: what each backup wrote (a restore: what it read). MB/s: those bytes over the whole command.');
} finally {
  sh('node', [cli, '-f', spec, '-p', project, 'down', '-v']);
  rmSync(dir, { recursive: true, force: true });
}
