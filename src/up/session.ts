// What up, down, migrate and status share at the edge: the stack, the Compose CLI, the Docker client,
// the lock and the generated files, each acquired with a clear error.
import { dirname } from 'node:path';
import { loadStack, type StackContext } from '../cli/context.js';
import type { DockerClient } from '../docker/client.js';
import { runCompose, createArgs, type ComposeResult, type ComposeTarget } from '../docker/compose-cli.js';
import { engineSocket, startGate } from './compose-gate.js';
import { findCompose } from '../docker/detect.js';
import { acquireLock, type Lock } from '../docker/lock.js';
import { PhaseComposeError, formatProblem } from '../util/errors.js';
import { syncGeneratedFiles } from './compose-file.js';
import { scaleArgs, type Plan } from './plan.js';
import type { ComposeCreator } from './run.js';

export type Stack = { ctx: StackContext; target: ComposeTarget; lock?: Lock; notes: string[] };
export type Session = Stack & { docker: DockerClient };

/** Loads the stack, writes stale generated files, finds Compose and takes the lock: no Docker yet. */
export function openStack(args: { file: string; projectName?: string }, command: string | undefined): Stack {
  const ctx = loadStack(args);
  const notes = ctx.warnings.map(formatProblem);
  for (const p of syncGeneratedFiles(ctx)) notes.push(`wrote ${p} (it was missing or out of date with the spec)`);
  const argv = findCompose();
  if (!argv) {
    throw new PhaseComposeError('docker', 'Docker Compose was not found', {
      details: ['install the Compose plugin (`docker compose version`) or docker-compose v1 (`docker-compose version`)'],
    });
  }
  const lock = command ? acquireLock(ctx.project, command) : undefined;
  return { ctx, target: { cli: { argv }, project: ctx.project, file: ctx.composeFile, cwd: dirname(ctx.composeFile) }, lock, notes };
}

/** Connects to Docker for an open stack. */
export async function connectStack(stack: Stack): Promise<Session> {
  const { connectDocker } = await import('../docker/client.js');
  return { ...stack, docker: await connectDocker() };
}

/** openStack, then connectStack (the lock is released when that fails). */
export async function openSession(args: { file: string; projectName?: string }, command: string | undefined): Promise<Session> {
  const stack = openStack(args, command);
  try {
    return await connectStack(stack);
  } catch (e) {
    stack.lock?.release();
    throw e;
  }
}

/**
 * Creates services with Compose. Where the Engine is a local socket, each batch's Compose call starts
 * as soon as it is prepared, behind a gate that holds its changes until `release` (see compose-gate).
 */
export function gatedCreator(target: ComposeTarget, plan: Plan): ComposeCreator {
  const upstream = engineSocket(process.env.DOCKER_HOST);
  const plain = plainCreator(target, plan);
  if (!upstream) return plain;
  return {
    prepare: (services) => {
      const gate = startGate(upstream);
      const run = gate.then((g) => runCompose(target, createArgs(services, scaleArgs(plan.steps, services)), { DOCKER_HOST: g.dockerHost }));
      run.catch(() => {});
      let cancelled = false;
      return {
        release: async () => {
          (await gate).open();
          const r = await run.finally(() => gate.then((g) => g.close()));
          checkCreated(services, r);
        },
        cancel: () => {
          if (cancelled) return;
          cancelled = true;
          void gate.then((g) => g.fail('what it waits for did not succeed'));
          void run.finally(() => gate.then((g) => g.close())).catch(() => {});
        },
      };
    },
  };
}

function checkCreated(services: string[], r: ComposeResult): void {
  if (r.exitCode === 0) return;
  throw new PhaseComposeError('failed', `Compose could not create ${services.join(', ')} (exit ${r.exitCode})`, {
    details: [`command: ${r.argv.join(' ')}`, ...r.output.trim().split('\n').slice(-20)],
  });
}

/**
 * A creator whose first `prepare` of `services` hands out `early`, a batch prepared before the runner
 * existed (its Compose process starts while Docker's client loads; the gate holds its changes).
 * `dispose` cancels `early` when nothing took it, so a failure before the runner starts leaves no
 * Compose process waiting behind its gate (and the command does not hang on it).
 */
export function withPrepared(creator: ComposeCreator, services: string[], early: ReturnType<ComposeCreator['prepare']>): ComposeCreator & { dispose(): void } {
  let given = false;
  return {
    prepare: (s) => {
      if (given || s.join(',') !== services.join(',')) return creator.prepare(s);
      given = true;
      return early;
    },
    dispose: () => {
      if (!given) early.cancel();
    },
  };
}

/** Creates services with one Compose call each time a batch is released (nothing runs early). */
export function plainCreator(target: ComposeTarget, plan: Plan): ComposeCreator {
  return {
    prepare: (services) => ({
      release: async () => {
        checkCreated(services, await runCompose(target, createArgs(services, scaleArgs(plan.steps, services))));
      },
      cancel: () => {},
    }),
  };
}
