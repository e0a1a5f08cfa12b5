// How a command ends when it throws nothing; cli/main.ts alone turns it into the exit code.
import type { ErrorKind } from '../util/errors.js';

export type Outcome =
  /** Done. */
  | { status: 'ok' }
  /** Failed, and the command has already said how (up's failure report, generate --check's diff). */
  | { status: 'reported'; kind: ErrorKind }
  /** A program in the stack ran (exec <task>, exec run, exec shell): its own exit code, passed through. */
  | { status: 'child'; exitCode: number };

export const OK: Outcome = { status: 'ok' };
export const reported = (kind: ErrorKind): Outcome => ({ status: 'reported', kind });
export const childExit = (exitCode: number): Outcome => ({ status: 'child', exitCode });

/** The exit code an outcome leaves with: main.ts's mapping, handed to a command that reports it (up --json). */
export type ExitCodeOf = (o: Outcome) => number;
