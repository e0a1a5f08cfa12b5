// How `up` and `migrate` create services with Compose: one Compose call per batch, started early
// behind a gate where the Engine is a local socket (see compose-gate).
import { runCompose, createArgs, type ComposeResult, type ComposeTarget } from '../docker/compose-cli.js';
import { engineSocket, startGate } from './compose-gate.js';
import { PhaseComposeError } from '../util/errors.js';
import { scaleArgs, type Plan } from './plan.js';
import type { ComposeCreator } from './run.js';

/**
 * COMPOSE_HTTP_TIMEOUT for a gated Compose call, in seconds. The gate holds its first change request
 * until the batch is released, after the jobs before it (a backup, migrations: minutes); docker-compose
 * 1.29 gives up on a request after 60 s by default and the batch failed. Held that long, the call is
 * bounded by the run instead: its deadline, then its stop signal.
 */
export const HELD_HTTP_TIMEOUT_S = String(24 * 3600);

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
      const stopped = new AbortController();
      const run = gate.then((g) => runCompose(target, createArgs(services, scaleArgs(plan.steps, services)), { DOCKER_HOST: g.dockerHost, COMPOSE_HTTP_TIMEOUT: HELD_HTTP_TIMEOUT_S }, stopped.signal));
      run.catch(() => {});
      let cancelled = false;
      return {
        release: async (stop) => {
          stop?.addEventListener('abort', () => stopped.abort(stop.reason), { once: true });
          if (stop?.aborted) stopped.abort(stop.reason);
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
      release: async (stop) => {
        checkCreated(services, await runCompose(target, createArgs(services, scaleArgs(plan.steps, services)), {}, stop));
      },
      cancel: () => {},
    }),
  };
}
