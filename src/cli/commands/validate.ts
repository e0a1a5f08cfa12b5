// `phase-compose validate`: checks the spec and prints every problem.
import { resolve } from 'node:path';
import { loadSpec } from '../../spec/load.js';
import { formatProblem } from '../../util/errors.js';
import { displayPath } from '../../util/fs.js';
import type { Io } from '../io.js';
import { OK, type Outcome } from '../outcome.js';

/** Runs validate; says how it ended (SpecError propagates to the entry point). */
export async function runValidate(args: { file: string }, io: Io): Promise<Outcome> {
  const { spec, warnings } = loadSpec(resolve(args.file));
  for (const w of warnings) io.err(formatProblem(w));
  const n = Object.keys(spec.services).length;
  io.out(`ok: ${displayPath(args.file)} is valid (${n} service${n === 1 ? '' : 's'}${spec.migrations ? ', migrations' : ''}${warnings.length ? `, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}` : ''})`);
  return OK;
}
