// `phase-compose down`: Compose stops and removes the stack (named volumes too with -v).
import { runCompose } from '../../docker/compose-cli.js';
import { openSession } from '../../up/session.js';
import { PhaseComposeError } from '../../util/errors.js';
import type { Io } from '../io.js';
import { OK, type Outcome } from '../outcome.js';

export type DownArgs = { file: string; projectName?: string; volumes?: boolean };

/** `down [-v]` as Compose arguments. */
export const downArgs = (volumes: boolean | undefined): string[] => ['down', '--remove-orphans', ...(volumes ? ['--volumes'] : [])];

/** Runs down; Compose failing is an error (failed), its output printed first. */
export async function runDown(args: DownArgs, io: Io): Promise<Outcome> {
  const session = await openSession(args, 'down');
  try {
    for (const n of session.notes) io.err(n);
    const r = await runCompose(session.target, downArgs(args.volumes));
    if (r.output.trim()) io.err(r.output.trimEnd());
    if (r.exitCode !== 0) throw new PhaseComposeError('failed', `${r.argv.join(' ')} exited ${r.exitCode}`);
    io.out(`down ${session.ctx.project}: removed${args.volumes ? ' (volumes too)' : ''}`);
    return OK;
  } finally {
    session.lock?.release();
  }
}
