// `phase-compose exec ...`: maintenance tasks from the spec (and Phase's purge, sso, network-policy reset),
// any argv in a service (`run`), or an interactive shell.
import { spawn } from 'node:child_process';
import { connectDocker } from '../../docker/client.js';
import { containerName, runningContainer } from '../../docker/containers.js';
import { findTask, resetTask, runInService, runMaintenance, type ExecIo, type MaintenanceOptions } from '../../exec/maintenance.js';
import { parseTaskArgs } from '../../exec/task-args.js';
import type { ParamValues } from '../../model/task.js';
import { PhaseComposeError } from '../../util/errors.js';
import { openStack, type StackArgs as StackPath } from '../../stack/open.js';
import type { Io } from '../io.js';
import { cliConfirm } from '../prompt.js';
import { OK, childExit, type Outcome } from '../outcome.js';
import { onInterrupt, onInterruptAgain } from '../../util/signals.js';
import { constants as osConstants } from 'node:os';

export type StackArgs = StackPath & { yes?: boolean };

const execIo = (io: Io, yes: boolean, forward?: ExecIo['forward']): ExecIo => ({
  out: io.out,
  err: io.err,
  stdout: process.stdout,
  stderr: process.stderr,
  confirm: cliConfirm(yes, io.isTTY),
  ...(forward ? { forward } : {}),
});

/**
 * Runs a task with Ctrl-C and SIGTERM forwarded to it in its container (before, they killed phase-compose
 * and the task ran on: a purge went on deleting), and to psql during a purge's VACUUM (which then has the
 * server cancel it). The first sends that signal and waits for the end; the same one again sends
 * SIGKILL. A copy sooner than AGAIN_GAP_MS (through `npx` or `npm run`, one Ctrl-C comes twice) is not
 * "again": until 2026-11-29 it sent SIGKILL. Before the task starts, it never does. The error says what
 * was reached.
 */
export async function forwarding<T>(io: Pick<Io, 'err'>, work: (forward: NonNullable<ExecIo['forward']>) => Promise<T>, now?: () => number): Promise<T> {
  const stop = new AbortController();
  const kill = new AbortController();
  const stopListening = onInterruptAgain((signal, again) => {
    if (!stop.signal.aborted) {
      io.err(`phase-compose: ${signal}: passing it to what runs in the container (the task, or psql during a VACUUM); ${signal} again (0.5 s or more later) sends SIGKILL`);
      stop.abort(signal);
    } else if (kill.signal.aborted) {
      // SIGKILL is sent: nothing more to do.
    } else if (!again) {
      // Another signal after the first (a closed terminal's SIGHUP after Ctrl-C): said, not a second one.
      io.err(`phase-compose: ${signal} after ${String(stop.signal.reason)}: nothing more is sent; either again (0.5 s or more after its first) sends SIGKILL to the task if it runs`);
    } else {
      io.err('phase-compose: sending SIGKILL to the task');
      kill.abort('SIGKILL');
    }
  }, now ? { now } : {});
  try {
    return await work({ stop: stop.signal, kill: kill.signal });
  } finally {
    stopListening();
  }
}

/** `exec <task> [words...]`: any maintenance task, parameters as --name value or positional. */
export async function runExecTask(args: StackArgs & { task: string; words: string[] }, io: Io): Promise<Outcome> {
  const stack = openStack(args);
  const task = findTask(stack.spec, args.task);
  const values = parseTaskArgs(task, args.task, args.words);
  const docker = await connectDocker();
  return ranTask(await forwarding(io, (f) => runMaintenance(docker, stack, args.task, values, execIo(io, !!args.yes, f))));
}

/** `exec purge <organisation> ...`: the `purge` task with a dry run, size report and VACUUM. */
export async function runExecPurge(
  args: StackArgs & { org: string; retain?: number; appId?: string; batchSize?: number; sleepMs?: number; dryRun?: boolean; vacuum?: boolean; vacuumFull?: boolean },
  io: Io,
): Promise<Outcome> {
  if (args.vacuum && args.vacuumFull) throw new PhaseComposeError('usage', 'choose one of --vacuum and --vacuum-full');
  const stack = openStack(args);
  const docker = await connectDocker();
  const values: ParamValues = { org: args.org, retain: args.retain, app_id: args.appId, batch_size: args.batchSize, sleep_ms: args.sleepMs };
  const opts: MaintenanceOptions = { dryRun: args.dryRun, vacuum: args.vacuumFull ? 'full' : args.vacuum ? 'analyze' : undefined };
  return ranTask(await forwarding(io, (f) => runMaintenance(docker, stack, 'purge', onlyGiven(values), execIo(io, !!args.yes, f), opts)));
}

/** `exec sso --org <name> (--show | --disable-enforcement | --delete-providers)`. */
export async function runExecSso(args: StackArgs & { org: string; show?: boolean; disableEnforcement?: boolean; deleteProviders?: boolean }, io: Io): Promise<Outcome> {
  if (!args.show && !args.disableEnforcement && !args.deleteProviders) {
    throw new PhaseComposeError('usage', 'say what to do: --show, --disable-enforcement or --delete-providers');
  }
  const stack = openStack(args);
  const docker = await connectDocker();
  const values: ParamValues = { org: args.org, show: args.show, disable_enforcement: args.disableEnforcement, delete_providers: args.deleteProviders };
  return ranTask(await forwarding(io, (f) => runMaintenance(docker, stack, 'sso', onlyGiven(values), execIo(io, !!args.yes, f))));
}

/** `exec reset-network-policies [--service S]`: the spec's reset task, else the built-in one. */
export async function runExecReset(args: StackArgs & { service?: string }, io: Io): Promise<Outcome> {
  const stack = openStack(args);
  const docker = await connectDocker();
  const { name, task } = resetTask(stack.spec, args.service);
  const spec = { ...stack.spec, maintenance: { ...stack.spec.maintenance, [name]: task } };
  return ranTask(await forwarding(io, (f) => runMaintenance(docker, { ...stack, spec }, name, {}, execIo(io, !!args.yes, f))));
}

/** `exec run <service> -- <argv...>`. */
export async function runExecRun(args: StackArgs & { service: string; argv: string[] }, io: Io): Promise<Outcome> {
  if (!args.argv.length) throw new PhaseComposeError('usage', 'name the command to run after --, e.g. `exec run backend -- python manage.py check`');
  const stack = openStack(args);
  const docker = await connectDocker();
  return childExit(await forwarding(io, (f) => runInService(docker, stack, args.service, args.argv, execIo(io, !!args.yes, f))));
}

/** `exec shell [service]`: an interactive shell through the docker CLI (it owns the terminal). */
export async function runExecShell(args: StackArgs & { service?: string; shell: string }, io: Io): Promise<Outcome> {
  const stack = openStack(args);
  const docker = await connectDocker();
  const service = args.service ?? Object.keys(stack.spec.services)[0]!;
  const c = await runningContainer(docker, stack.project, service);
  io.err(`${service}: ${args.shell} in ${containerName(c)} (exit to leave)`);
  const tty = process.stdin.isTTY ? ['-it'] : ['-i'];
  // SIGTERM or SIGHUP (a closed terminal) to phase-compose goes to the shell's `docker exec`, and phase-compose
  // leaves once it has: until 2026-11-28 it died at once and left that child on the terminal. Ctrl-C in a
  // terminal is a keystroke for the shell (raw mode), not a signal to either.
  let interrupted = false;
  let child: ReturnType<typeof spawn> | undefined;
  const stopListening = onInterrupt((signal) => {
    interrupted = true;
    child?.kill(signal);
  });
  try {
    return await new Promise<Outcome>((resolve, reject) => {
      child = spawn('docker', ['exec', ...tty, c.Id, args.shell], { stdio: 'inherit' });
      child.on('error', (e) => reject(new PhaseComposeError('docker', `cannot run the docker CLI: ${e.message}`, { cause: e })));
      child.on('exit', (code, signal) => {
        if (interrupted) return reject(new PhaseComposeError('interrupted', 'interrupted: the shell\'s docker exec was given the signal and has ended'));
        resolve(childExit(code ?? shellSignalExit(signal)));
      });
    });
  } finally {
    stopListening();
  }
}

/** A shell's `docker exec` killed by a signal: 128 + its number, as a shell reports it (until 2026-11-28 a bare 128). */
export const shellSignalExit = (signal: NodeJS.Signals | null): number => (signal ? 128 + (osConstants.signals[signal] ?? 0) : 1);

/** A task that ran leaves with its own exit code; a dry run, which runs none, is done. */
const ranTask = (exitCode: number | undefined): Outcome => (exitCode === undefined ? OK : childExit(exitCode));

const onlyGiven = (v: ParamValues): ParamValues => Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined && x !== false));
