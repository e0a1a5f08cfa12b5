// Named error classes with structured fields. Only the CLI entry point prints them and picks exit codes.

/** Exit codes, documented in the README and `--help`. */
export const ExitCode = {
  ok: 0,
  problem: 1,
  usage: 2,
  docker: 3,
  failed: 4,
  timeout: 5,
  locked: 6,
  /** A named thing (organisation, app) does not exist. */
  notFound: 7,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

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

/** The spec has errors; `problems` holds all of them (and any warnings). */
export class SpecError extends Error {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    const errors = problems.filter((p) => p.severity === 'error');
    super(`${errors.length} problem${errors.length === 1 ? '' : 's'} in the deployment spec`);
    this.name = 'SpecError';
    this.problems = problems;
  }
}

/** A user-facing failure with a chosen exit code; `details` are printed under the message. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly details: string[];
  constructor(message: string, opts: { exitCode?: ExitCode; details?: string[]; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'CliError';
    this.exitCode = opts.exitCode ?? ExitCode.problem;
    this.details = opts.details ?? [];
  }
}
