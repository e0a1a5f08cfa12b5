// Failure and interruption reports, built as text by pure functions.
import type { HealthEntry } from './state.js';

export type FailureFacts = {
  service: string;
  container: string;
  /** What went wrong, in words: "exited with code 1", "turned unhealthy", "not healthy after 20s". */
  what: string;
  exitCode?: number;
  healthLog?: HealthEntry[];
  /** Last output of our own healthcheck probe, when Docker's log is empty. */
  probeOutput?: string;
  /** The container's last output lines (stdout and stderr, interleaved). */
  logs: string;
  /** Services that were not started because they wait on this one. */
  blocked: string[];
  kept: boolean;
};

const indent = (text: string, pad = '    ') => text.split('\n').map((l) => `${pad}${l}`.trimEnd()).join('\n');

/** Keeps the last `n` non-empty-trailing lines of a text. */
export function lastLines(text: string, n: number): string {
  const lines = text.replace(/\s+$/, '').split('\n');
  return lines.slice(-n).join('\n');
}

/** The failure report: service, exit code, health log, last 50 lines, the `docker logs` command. */
export function failureReport(f: FailureFacts): string {
  const out: string[] = [`✗ ${f.service} (${f.container}) ${f.what}`];
  if (f.exitCode !== undefined) out.push(`  exit code: ${f.exitCode}`);
  const log = f.healthLog?.filter((h) => h.output.trim() || h.exitCode !== 0) ?? [];
  if (log.length) {
    out.push('  health log (newest last):');
    for (const h of log.slice(-5)) out.push(`    [exit ${h.exitCode}${h.start ? ` at ${h.start}` : ''}] ${h.output.trim().split('\n').join(' | ') || '(no output)'}`);
  }
  // Our own probe runs every second; Docker's log can be older (Engine 26 with start_interval logged a
  // single probe before the app listened), so show the newest result too when it says something else.
  if (f.probeOutput !== undefined && f.probeOutput.trim() !== log.at(-1)?.output.trim()) {
    out.push('  last healthcheck run:', indent(f.probeOutput.trim() || '(no output)'));
  }
  const logs = lastLines(f.logs, 50);
  out.push(`  last ${Math.min(50, logs ? logs.split('\n').length : 0)} lines of output:`);
  out.push(logs ? indent(logs) : '    (no output)');
  out.push(`  full output: docker logs ${f.container}`);
  if (f.blocked.length) out.push(`  not started (they wait on ${f.service}): ${f.blocked.join(', ')}`);
  if (f.kept) out.push(`  the container is kept for inspection: docker inspect ${f.container}`);
  return out.join('\n');
}

export type Standing = { service: string; state: string; elapsedMs?: number };

/** Where each service stood (after Ctrl-C or a timeout). */
export function standingReport(rows: Standing[]): string {
  const w = Math.max(7, ...rows.map((r) => r.service.length));
  return rows.map((r) => `  ${r.service.padEnd(w)}  ${r.state}${r.elapsedMs !== undefined ? ` (${(r.elapsedMs / 1000).toFixed(1)}s)` : ''}`).join('\n');
}
