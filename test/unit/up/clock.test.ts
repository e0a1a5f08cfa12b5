// The system clock's sleep ends early on abort and leaves no timer behind (so none outlives a run).
import { describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../../src/up/clock.js';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('systemClock.sleep', () => {
  it('an aborted signal ends it at once, with no timer', async () => {
    const before = timers();
    await systemClock.sleep(60_000, AbortSignal.abort());
    expect(timers()).toBe(before);
  });

  it('aborting ends it and clears its timer', async () => {
    const before = timers();
    const stop = new AbortController();
    const slept = systemClock.sleep(60_000, stop.signal);
    expect(timers()).toBe(before + 1);
    stop.abort();
    await slept;
    expect(timers()).toBe(before);
  });

  it('sleeps a delay past setTimeout\'s 2^31-1 ms to its end (before: `--timeout 30d` ended after 1 ms)', async () => {
    vi.useFakeTimers();
    try {
      let woke = false;
      const slept = systemClock.sleep(30 * 86_400_000).then(() => (woke = true));
      await vi.advanceTimersByTimeAsync(1000);
      expect(woke).toBe(false);
      await vi.advanceTimersByTimeAsync(2 ** 31);
      expect(woke).toBe(false);
      await vi.advanceTimersByTimeAsync(30 * 86_400_000 - 2 ** 31 - 1001);
      expect(woke).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await slept;
      expect(woke).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
