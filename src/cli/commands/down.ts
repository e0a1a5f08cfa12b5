// `phase-compose down`: Compose stops and removes the stack (named volumes too with -v).
import { runCompose } from '../../docker/compose-cli.js';
import { openSession } from '../../up/session.js';
import { ExitCode } from '../../util/errors.js';
import type { Io } from '../io.js';

export type DownArgs = { file: string; projectName?: string; volumes?: boolean };

/** `down [-v]` as Compose arguments. */
export const downArgs = (volumes: boolean | undefined): string[] => ['down', '--remove-orphans', ...(volumes ? ['--volumes'] : [])];

/** Runs down; returns the exit code. */
export async function runDown(args: DownArgs, io: Io): Promise<number> {
  const session = await openSession(args, 'down');
  try {
    for (const n of session.notes) io.err(n);
    const r = await runCompose(session.target, downArgs(args.volumes));
    if (r.output.trim()) io.err(r.output.trimEnd());
    if (r.exitCode !== 0) {
      io.err(`phase-compose: ${r.argv.join(' ')} exited ${r.exitCode}`);
      return ExitCode.failed;
    }
    io.out(`down ${session.ctx.project}: removed${args.volumes ? ' (volumes too)' : ''}`);
    return ExitCode.ok;
  } finally {
    session.lock?.release();
  }
}
