// Edge: running the Compose CLI (v2 `docker compose` or v1 `docker-compose`) with execa, argv arrays only.
import type { ComposeCli } from './detect.js';

export type ComposeTarget = {
  /** Only the argv prefix is needed to run it; the version is not. */
  cli: Pick<ComposeCli, 'argv'>;
  project: string;
  /** Absolute path of the compose file. */
  file: string;
  /** Working directory: the compose file's directory, so `.env` interpolation matches a plain `compose up`. */
  cwd: string;
  /**
   * Resolve the file's relative paths (env_file, bind mounts, `.env`) against this directory rather than
   * the file's own (`--project-directory`): for a copy of the stack's compose file kept elsewhere (the
   * one `upgrade` saves for `rollback`).
   */
  projectDir?: string;
  /** Variables for Compose's interpolation that win over `.env` (`upgrade --to` sets the version variable this way). */
  env?: Record<string, string>;
};

export type ComposeResult = { argv: string[]; exitCode: number; output: string };

/** `<compose> -p <project> -f <file> [--project-directory <dir>] <args...>` as an argv array. */
export function composeArgv(t: Pick<ComposeTarget, 'cli' | 'project' | 'file' | 'projectDir'>, args: string[]): string[] {
  return [...t.cli.argv, '-p', t.project, '-f', t.file, ...(t.projectDir !== undefined ? ['--project-directory', t.projectDir] : []), ...args];
}

/** `up --no-start --no-deps` for some services: Compose creates networks, volumes and containers, starts nothing. */
export function createArgs(services: string[], scale: string[] = []): string[] {
  return ['up', '--no-start', '--no-deps', ...scale, ...services];
}

/** Runs Compose; never throws for a non-zero exit (the caller decides). `env` is added to the process's; `stop` ends it. */
export async function runCompose(t: ComposeTarget, args: string[], env: Record<string, string> = {}, stop?: AbortSignal): Promise<ComposeResult> {
  const { execa } = await import('execa');
  const argv = composeArgv(t, args);
  // `stop` sends SIGTERM (SIGKILL 5 s later): what Compose does on Ctrl-C.
  const r = await execa(argv[0]!, argv.slice(1), { cwd: t.cwd, reject: false, all: true, env: { ...t.env, ...env }, stdin: 'ignore', ...(stop ? { cancelSignal: stop } : {}) });
  return { argv, exitCode: r.exitCode ?? -1, output: String(r.all ?? '') };
}
