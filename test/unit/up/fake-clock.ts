// A clock whose time moves only when everything else waits on it: `run(p)` lets every pending callback
// settle, then jumps to the earliest sleeper, until `p` is done. No real timers: `setImmediate` only lets
// the microtasks queued so far run (it waits for no time).
import type { Clock } from '../../../src/up/clock.js';

export class FakeClock implements Clock {
  private t: number;
  private sleepers: Array<{ at: number; seq: number; wake: () => void }> = [];
  private seq = 0;
  /** Every sleep asked for, in ms, in order. */
  readonly asked: number[] = [];

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now = (): number => this.t;

  sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise<void>((resolve) => {
      this.asked.push(ms);
      if (signal?.aborted) return resolve();
      // As the real clock does: the abort listener goes when the sleep ends either way (one left behind
      // per sleep piled up on a long-lived signal: Node's MaxListenersExceededWarning in the unit runs).
      const onAbort = () => {
        this.sleepers = this.sleepers.filter((x) => x !== s);
        resolve();
      };
      const s = {
        at: this.t + ms,
        seq: this.seq++,
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.sleepers.push(s);
      signal?.addEventListener('abort', onAbort, { once: true });
    });

  /** Runs `p` to its end, moving time forward only when nothing else can happen. */
  async run<T>(p: Promise<T>): Promise<T> {
    let done = false;
    const settled = p.finally(() => (done = true));
    settled.catch(() => {});
    for (;;) {
      await new Promise<void>((r) => setImmediate(r));
      if (done) return settled;
      const next = this.sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq).shift();
      if (!next) throw new Error('deadlock: nothing runs and nobody sleeps');
      this.t = Math.max(this.t, next.at);
      next.wake();
    }
  }
}
