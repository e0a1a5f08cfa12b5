// Holding Ctrl-C / SIGTERM back while files are being written, so no half-done write is left behind.
import { PhaseComposeError } from './errors.js';

/**
 * Runs a synchronous `fn` with SIGINT and SIGTERM held back: a signal that arrives meanwhile takes
 * effect once `fn` has finished (every temp file renamed or removed), as exit 130.
 */
export async function holdingSignals<T>(fn: () => T): Promise<T> {
  let got: NodeJS.Signals | undefined;
  const hold = (s: NodeJS.Signals) => {
    got ??= s;
  };
  process.on('SIGINT', hold);
  process.on('SIGTERM', hold);
  try {
    const result = fn();
    // A signal that came during `fn` is delivered within a turn or two of the event loop.
    for (let turn = 0; turn < 3 && !got; turn++) await new Promise((res) => setImmediate(res));
    if (got) throw new PhaseComposeError('interrupted', `interrupted (${got}); the files listed above were written completely`);
    return result;
  } finally {
    process.off('SIGINT', hold);
    process.off('SIGTERM', hold);
  }
}

/**
 * Calls `fn` on each SIGINT until the returned function is called. Never `process.once`: execa's
 * child-process cleanup (signal-exit) also listens, and kills the process with the signal when it
 * finds itself the only listener left, which a `once` listener no longer is by the time it looks. So
 * a Ctrl-C that came while Compose ran killed phase-compose mid-upgrade instead of rolling back.
 */
export function onSigint(fn: () => void): () => void {
  const listener = () => fn();
  process.on('SIGINT', listener);
  return () => {
    process.off('SIGINT', listener);
  };
}
