// `phase-compose down`: Compose stops and removes the stack (named volumes too with -v).
import { runCompose } from '../../docker/compose-cli.js';
import { connectDocker } from '../../docker/client.js';
import { openStack } from '../../stack/open.js';
import { PhaseComposeError, formatProblem } from '../../util/errors.js';
import type { Io } from '../io.js';
import { OK, type Outcome } from '../outcome.js';

export type DownArgs = { file: string; projectName?: string; volumes?: boolean };

/** `down [-v]` as Compose arguments. */
export const downArgs = (volumes: boolean | undefined): string[] => ['down', '--remove-orphans', ...(volumes ? ['--volumes'] : [])];

/** Runs down (it writes no file: Compose reads the compose file as it is); Compose failing is an error (failed). */
export async function runDown(args: DownArgs, io: Io): Promise<Outcome> {
  const stack = openStack(args, { compose: true, lock: 'down' });
  try {
    await connectDocker(); // a clear "cannot reach the Docker Engine" before Compose says it less clearly
    for (const w of stack.warnings) io.err(formatProblem(w));
    const r = await runCompose(stack.compose, downArgs(args.volumes));
    if (r.output.trim()) io.err(r.output.trimEnd());
    if (r.exitCode !== 0) throw new PhaseComposeError('failed', `${r.argv.join(' ')} exited ${r.exitCode}`);
    io.out(`down ${stack.project}: removed${args.volumes ? ' (volumes too)' : ''}`);
    return OK;
  } finally {
    stack.lock.release();
  }
}
