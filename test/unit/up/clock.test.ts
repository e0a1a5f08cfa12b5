// The system clock's sleep ends early on abort and leaves no timer behind (so none outlives a run).
import { describe, expect, it } from 'vitest';
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
});
