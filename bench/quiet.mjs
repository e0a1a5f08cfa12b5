// The Docker benchmarks' guard: their ratios mean something only on a quiet Engine. On 2026-11-29 a
// leftover e2e stack (an interrupted run's six containers, healthchecks and gunicorn workers) was found
// running beside `bench/backup.mjs`, whose runs that day gave 1.39x to 1.57x where the same code had
// given 1.01x that morning. Each bench now refuses to start while containers it did not make are
// running (`--busy` runs it anyway, and the table says so), and prints the load average it started at.
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';

/**
 * Exits 2, naming them, when containers are running on the Engine (the bench makes its own after this),
 * unless `--busy` is given. Prints the Engine's state and the load average on stderr, and returns that
 * line to print above the bench's table.
 */
export function requireQuietEngine(argv = process.argv) {
  const r = spawnSync('docker', ['ps', '--format', '{{.Names}}'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker ps exited ${r.status}: ${r.stderr}`);
  const running = r.stdout.split('\n').filter(Boolean);
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  if (running.length && !argv.includes('--busy')) {
    process.stderr.write(
      `bench: ${running.length} container(s) already running on this Engine: ${running.slice(0, 8).join(', ')}${running.length > 8 ? ', ...' : ''}\n` +
        '  their load would be in every number: remove them (an interrupted e2e run leaves pce2e-* stacks), or pass --busy to measure anyway\n',
    );
    process.exit(2);
  }
  const line = `engine: ${running.length ? `NOT QUIET (--busy): ${running.length} other container(s) running` : 'no other container running'}; load average at start ${load}`;
  process.stderr.write(`${line}\n`);
  return line;
}
