// The output sink handed to commands, so tests can capture what a command prints; and what keeps a
// standard stream that fails from ending the process.
import type { EventEmitter } from 'node:events';
import { FILE_SYSTEM_REFUSALS } from '../util/errors.js';

export type Io = {
  out: (line: string) => void;
  err: (line: string) => void;
  isTTY: boolean;
};

/** The process's own stdout/stderr. */
export const processIo = (): Io => ({
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
  isTTY: !!process.stdout.isTTY && !!process.stdin.isTTY,
});

/** A standard stream a write to failed, with the error's code (EPIPE: its reader went away). */
export type LostStream = { name: 'stdout' | 'stderr'; code: string };

/**
 * Keeps a failed write to stdout or stderr from ending the process. Node reports one as an 'error' event
 * on the stream, and with nobody listening that killed phase-compose wherever it was: a `restore` whose
 * output went to `| head -1` died with the app stopped and never started it again. Now the command goes
 * on to its end (what it prints after is dropped); the returned function tells which streams failed.
 */
export function keepGoingWhenOutputFails(streams: Record<LostStream['name'], EventEmitter>): () => LostStream[] {
  const lost: LostStream[] = [];
  for (const name of ['stdout', 'stderr'] as const) {
    streams[name].on('error', (e: NodeJS.ErrnoException) => {
      if (!lost.some((l) => l.name === name)) lost.push({ name, code: e.code ?? 'unknown' });
    });
  }
  return () => [...lost];
}

/** A reader that went away (`| head`, a closed pipe) or a terminal that hung up: not a failure of the command. */
const READER_GONE = new Set(['EPIPE', 'EIO']);

/**
 * The exit code once output was lost, and a line for stderr when it still works. The command's own code
 * stands, except that a success whose output was not all written (a full disk under `> file`) is a
 * problem (`problemCode`): the file it left is short. A reader that left on its own changes nothing. Pure.
 */
export function afterLostOutput(code: number, lost: LostStream[], problemCode: number): { code: number; line?: string } {
  const failed = lost.find((l) => !READER_GONE.has(l.code));
  if (code !== 0 || !failed) return { code };
  const why = FILE_SYSTEM_REFUSALS[failed.code] ?? failed.code;
  const line = lost.some((l) => l.name === 'stderr') ? undefined : `phase-compose: the command finished, but its ${failed.name} could not be written in full: ${why}`;
  return { code: problemCode, ...(line ? { line } : {}) };
}
