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

/**
 * An `up` that stays attached (no -d: `--no-start`, which Compose v1 will not combine with -d). Compose
 * v1 answers SIGINT or SIGTERM there by stopping every container of the services it was given
 * ("Gracefully stopping..."), old replicas included: such a call must only ever be killed. Pure.
 */
export function attachedUp(args: readonly string[]): boolean {
  return args[0] === 'up' && !args.includes('-d') && !args.includes('--detach');
}

/**
 * Runs Compose; never throws for a non-zero exit (the caller decides). `env` is added to the process's;
 * `stop` ends it. Compose runs in a session of its own, so that a terminal's Ctrl-C reaches phase-compose
 * alone, which holds it or stops its calls as it says: until 2026-11-29 Compose v1 got it too, and
 * stopped the running app of the batch it was creating (an `up` on a running stack, an upgrade's new
 * replicas), as it did on the SIGTERM that `stop` sent.
 */
export async function runCompose(t: ComposeTarget, args: string[], env: Record<string, string> = {}, stop?: AbortSignal): Promise<ComposeResult> {
  const [{ execa }, { onExit }] = await Promise.all([import('execa'), import('signal-exit')]);
  const argv = composeArgv(t, args);
  const sub = execa(argv[0]!, argv.slice(1), { cwd: t.cwd, reject: false, all: true, env: { ...t.env, ...env }, stdin: 'ignore', detached: true });
  // The signal goes to Compose's whole process group (it leads it): the docker CLI runs the v2 plugin as
  // a child, and the v1 one-file binary its Python, neither of which a signal to the leader alone ends.
  // `stop` sends SIGTERM (SIGKILL 5 s later), what Compose does on Ctrl-C; SIGKILL at once to an attached up.
  const kill = attachedUp(args) ? ('SIGKILL' as const) : ('SIGTERM' as const);
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (sub.pid !== undefined) process.kill(-sub.pid, signal);
    } catch {
      /* already gone */
    }
  };
  let force: NodeJS.Timeout | undefined;
  const onStop = () => {
    killGroup(kill);
    if (kill !== 'SIGKILL') force = setTimeout(() => killGroup('SIGKILL'), 5000).unref();
  };
  if (stop?.aborted) onStop();
  else stop?.addEventListener('abort', onStop, { once: true });
  // What execa's `cleanup` does, which it skips for a detached process: Compose does not outlive phase-compose.
  const forget = onExit(() => killGroup(kill));
  const r = await sub.finally(() => {
    forget();
    stop?.removeEventListener('abort', onStop);
    clearTimeout(force);
  });
  return { argv, exitCode: r.exitCode ?? -1, output: String(r.all ?? '') };
}
