// Named error classes with structured fields. Only the CLI entry point prints them and picks exit codes
// (src/cli/exit-codes.ts maps each kind to its code).

/**
 * What went wrong, for the user: every error a command reports carries one. The kind names the failure,
 * never an exit code; the CLI's entry point alone turns it into one.
 */
export type ErrorKind =
  /** Something the user must fix was found: an invalid spec, a refused overwrite, a file that cannot be written. */
  | 'problem'
  /** The command line is wrong: an unknown option, a bad value, a missing file or task. */
  | 'usage'
  /** Docker or Compose cannot be reached. */
  | 'docker'
  /** A service, job or command in the stack failed. */
  | 'failed'
  /** Waiting took longer than allowed. */
  | 'timeout'
  /** Another phase-compose run holds the project's lock. */
  | 'locked'
  /** A named thing (organisation, app) does not exist. */
  | 'not-found'
  /** The user stopped it (Ctrl-C, or the end of input at a prompt). */
  | 'interrupted';

/** One problem found in a spec: where, what, and how to fix it. */
export type Problem = {
  severity: 'error' | 'warning';
  /** Dotted path into the spec, e.g. `services.backend.depends_on`. Empty for the root. */
  path: string;
  message: string;
  hint?: string;
  file?: string;
  line?: number;
  col?: number;
};

/** Formats a problem as `file:line:col: error: path: message (hint)`. */
export function formatProblem(p: Problem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}:${p.col ?? 1}` : ''}: ` : '';
  const path = p.path ? `${p.path}: ` : '';
  const hint = p.hint ? `\n    hint: ${p.hint}` : '';
  return `${where}${p.severity}: ${path}${p.message}${hint}`;
}

/** A failure the user should see: its kind, a one-line message, and `details` printed under it. */
export class PhaseComposeError extends Error {
  readonly kind: ErrorKind;
  readonly details: string[];
  constructor(kind: ErrorKind, message: string, opts: { details?: string[]; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'PhaseComposeError';
    this.kind = kind;
    this.details = opts.details ?? [];
  }
}

/**
 * The spec has errors; `problems` holds all of them (and any warnings). A kind of PhaseComposeError
 * (a problem) that carries the located list, printed one problem a line.
 */
export class SpecError extends PhaseComposeError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    const errors = problems.filter((p) => p.severity === 'error');
    super('problem', `${errors.length} problem${errors.length === 1 ? '' : 's'} in the deployment spec`);
    this.name = 'SpecError';
    this.problems = problems;
  }
}

/** Write failures that are the file system's state (full, over quota, read-only), in words, by errno code. */
export const FILE_SYSTEM_REFUSALS: Readonly<Record<string, string>> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exceeded',
  EROFS: 'the file system is read-only',
};

/**
 * The Docker Engine's refusal of a request (docker-modem's error: `(HTTP code 409) unexpected - Container
 * … is paused …`, with `statusCode`), where no command said more: the Engine's state (a container paused,
 * removed, a conflict), not a bug. Its message, or undefined for any other error.
 */
export function engineRefusal(e: unknown): string | undefined {
  const x = e as { statusCode?: unknown; message?: unknown } | undefined;
  if (typeof x?.statusCode !== 'number' || typeof x.message !== 'string') return undefined;
  const m = /^\(HTTP code (\d{3})\) [^]*? - ([^]*)$/.exec(x.message.trim());
  return m ? `${m[2]!.trim()} (HTTP ${m[1]})` : undefined;
}

/** Why a write failed, in the words every write of phase-compose uses: the file system's refusals and the path's. */
export const WRITE_REFUSALS: Readonly<Record<string, string>> = {
  ...FILE_SYSTEM_REFUSALS,
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'it is a directory',
  EEXIST: 'a file of that name exists',
};

/** `could not write FILE: why`, the one wording of a failed write (`shown`: the path as the user should see it). */
export const couldNotWrite = (shown: string, e: unknown): string => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return `could not write ${shown}: ${(code && WRITE_REFUSALS[code]) || ((e as Error | undefined)?.message ?? String(e))}`;
};
