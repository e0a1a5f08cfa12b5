// The runner's sense of time: `now` and a `sleep` that an AbortSignal ends early (and clears its timer).
export type Clock = {
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
};

/** Wall-clock time and real timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      // Node fires a timer longer than 2^31-1 ms after 1 ms (a `--timeout 30d` timed out at once): a
      // longer sleep is slept in pieces.
      let left = ms;
      const next = (): NodeJS.Timeout => {
        const piece = Math.min(left, MAX_TIMER_MS);
        left -= piece;
        return setTimeout(() => (left > 0 ? (timer = next()) : done()), piece);
      };
      let timer = next();
      signal?.addEventListener('abort', done);
    }),
};

/**
 * `work`'s result, or undefined once `ms` have passed on `clock` first (the work is left to end by
 * itself): a hung Engine must not hang what only reports. A rejection of `work` rejects.
 */
export async function within<T>(clock: Clock, ms: number, work: Promise<T>): Promise<T | undefined> {
  const enough = new AbortController();
  try {
    return await Promise.race([work, clock.sleep(ms, enough.signal).then(() => undefined)]);
  } finally {
    enough.abort();
  }
}

/** The longest delay Node's setTimeout keeps (a signed 32-bit count of milliseconds). */
export const MAX_TIMER_MS = 2 ** 31 - 1;
