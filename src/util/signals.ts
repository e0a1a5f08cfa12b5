// Holding Ctrl-C / SIGTERM back while files are being written, so no half-done write is left behind.
import { PhaseComposeError } from './errors.js';

/**
 * The signals that ask phase-compose to stop: Ctrl-C, SIGTERM (`kill`, `timeout`, a service manager), and
 * SIGHUP (the terminal or ssh session closed). Unheard, SIGHUP killed phase-compose wherever it was: a
 * dropped ssh session mid-restore left the app stopped. It is handled as SIGTERM is.
 */
export const INTERRUPTS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type Interrupt = (typeof INTERRUPTS)[number];

/**
 * Runs a synchronous `fn` with SIGINT, SIGTERM and SIGHUP held back: a signal that arrives meanwhile takes
 * effect once `fn` has finished (every temp file renamed or removed), as exit 130.
 */
export async function holdingSignals<T>(fn: () => T): Promise<T> {
  let got: NodeJS.Signals | undefined;
  const hold = (s: NodeJS.Signals) => {
    got ??= s;
  };
  for (const s of INTERRUPTS) process.on(s, hold);
  try {
    const result = fn();
    // A signal that came during `fn` is delivered within a turn or two of the event loop.
    for (let turn = 0; turn < 3 && !got; turn++) await new Promise((res) => setImmediate(res));
    if (got) throw new PhaseComposeError('interrupted', `interrupted (${got}); the files listed above were written completely`);
    return result;
  } finally {
    for (const s of INTERRUPTS) process.off(s, hold);
  }
}

/**
 * Calls `fn` on each SIGINT (Ctrl-C), SIGTERM (`kill`, `timeout`, a service manager stopping it) or SIGHUP
 * (the terminal closed) until the returned function is called. Never `process.once`: execa's child-process
 * cleanup (signal-exit) also listens for all three, and kills the process with the signal when it finds
 * itself the only listener left, which a `once` listener no longer is by the time it looks. So a Ctrl-C
 * that came while Compose ran killed phase-compose mid-upgrade instead of rolling back; a SIGTERM did so
 * even without a child.
 */
export function onInterrupt(fn: (signal: Interrupt) => void): () => void {
  const listeners = INTERRUPTS.map((s) => [s, () => fn(s)] as const);
  for (const [s, l] of listeners) process.on(s, l);
  return () => {
    for (const [s, l] of listeners) process.off(s, l);
  };
}

/** A repeat of the same signal sooner than this is one signal: `npm run`/`npx` forward a terminal's Ctrl-C that their child got too. */
export const AGAIN_GAP_MS = 500;

/** When each signal first came (a monotonic clock, ms). */
export type Arrivals = ReadonlyMap<Interrupt, number>;

/**
 * Calls `fn(signal, again)` for each Ctrl-C, SIGTERM or SIGHUP until the returned function is called:
 * `again` is false the first time a signal comes, true when the same one comes again AGAIN_GAP_MS or more
 * after it. A repeat sooner than that is a copy of it (`npx`, `npm run`) and calls nothing. Each signal
 * counts on its own: a SIGHUP after a Ctrl-C (the terminal closed) is a first. `arrivals` holds when each
 * first came, and may start with those of the work this follows.
 */
export function onInterruptAgain(fn: (signal: Interrupt, again: boolean) => void, opts: { arrivals?: Map<Interrupt, number>; now?: () => number } = {}): () => void {
  const now = opts.now ?? (() => performance.now());
  const arrivals = opts.arrivals ?? new Map<Interrupt, number>();
  return onInterrupt((s) => {
    const at = arrivals.get(s);
    if (at !== undefined && now() - at < AGAIN_GAP_MS) return;
    if (at === undefined) arrivals.set(s, now());
    fn(s, at !== undefined);
  });
}

/**
 * Runs `work` with Ctrl-C, SIGTERM and SIGHUP turned into its abort signal (the reason: the signal's name). The
 * listeners go when the work ends, so what follows (a prompt, the app's stop) handles signals its own way;
 * the signal stays readable, to ask afterwards whether one came. With `again`, a signal that already came
 * (see onInterruptAgain: to this work, or in `after`, to work this one follows) stops listening and calls
 * it, to leave at once: work that lets a step finish may wait on a hung Engine. Returns when each signal
 * first came, for the work that follows.
 */
export async function abortOnInterrupt<T>(
  work: (signal: AbortSignal) => Promise<T>,
  opts: { again?: (signal: Interrupt) => void; after?: Arrivals; now?: () => number } = {},
): Promise<{ result: T; signal: AbortSignal; arrivals: Arrivals }> {
  const abort = new AbortController();
  const arrivals = new Map(opts.after ?? []);
  const stopListening = onInterruptAgain((s, again) => {
    if (again && opts.again) {
      stopListening();
      return opts.again(s);
    }
    abort.abort(s);
  }, { arrivals, ...(opts.now ? { now: opts.now } : {}) });
  try {
    return { result: await work(abort.signal), signal: abort.signal, arrivals };
  } finally {
    stopListening();
  }
}

/**
 * Runs `work` with a signal of its own that aborts when `parent` does (with its reason) and can also be
 * aborted through `stop` (a write that failed stops the command feeding it). `parent` is let go of when
 * the work ends.
 */
export async function withOwnAbort<T>(parent: AbortSignal | undefined, work: (signal: AbortSignal, stop: (reason: unknown) => void) => Promise<T>): Promise<T> {
  const own = new AbortController();
  const follow = () => own.abort(parent?.reason);
  if (parent?.aborted) follow();
  else parent?.addEventListener('abort', follow, { once: true });
  try {
    return await work(own.signal, (reason) => own.abort(reason));
  } finally {
    parent?.removeEventListener('abort', follow);
  }
}
