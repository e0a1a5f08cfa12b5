// `phase-compose down`: Compose stops and removes the stack (named volumes too with -v).
import { runCompose } from '../../docker/compose-cli.js';
import { connectDocker } from '../../docker/client.js';
import { openStack } from '../../stack/open.js';
import { ExitCode, formatProblem } from '../../util/errors.js';
import type { Io } from '../io.js';

export type DownArgs = { file: string; projectName?: string; volumes?: boolean };

/** `down [-v]` as Compose arguments. */
export const downArgs = (volumes: boolean | undefined): string[] => ['down', '--remove-orphans', ...(volumes ? ['--volumes'] : [])];

/** Runs down (it writes no file: Compose reads the compose file as it is); returns the exit code. */
export async function runDown(args: DownArgs, io: Io): Promise<number> {
  const stack = openStack(args, { compose: true, lock: 'down' });
  try {
    await connectDocker(); // a clear "cannot reach the Docker Engine" before Compose says it less clearly
    for (const w of stack.warnings) io.err(formatProblem(w));
    const r = await runCompose(stack.compose, downArgs(args.volumes));
    if (r.output.trim()) io.err(r.output.trimEnd());
    if (r.exitCode !== 0) {
      io.err(`phase-compose: ${r.argv.join(' ')} exited ${r.exitCode}`);
      return ExitCode.failed;
    }
    io.out(`down ${stack.project}: removed${args.volumes ? ' (volumes too)' : ''}`);
    return ExitCode.ok;
  } finally {
    stack.lock.release();
  }
}
