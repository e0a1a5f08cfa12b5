// `exec`'s signal forwarding: the first Ctrl-C goes to the task, the same again sends SIGKILL, and a copy
// within AGAIN_GAP_MS (what `npx` and `npm run` pass on of one Ctrl-C) is not "again". The listeners are
// called as a signal would call them (process.emit); the time between signals comes from a fake clock.
import { describe, expect, it } from 'vitest';
import { forwarding } from '../../../src/cli/commands/exec.js';
import { AGAIN_GAP_MS } from '../../../src/util/signals.js';

describe('exec: forwarding a signal to the task', () => {
  const start = () => {
    let t = 5000;
    const err: string[] = [];
    let release = () => {};
    let seen: { stop: AbortSignal; kill?: AbortSignal } | undefined;
    const done = forwarding({ err: (l) => err.push(l) }, (f) => ((seen = f), new Promise<void>((res) => (release = res))), () => t);
    return { err, done, release: () => release(), later: (ms: number) => (t += ms), f: () => seen! };
  };

  it('the first Ctrl-C goes to the task; a copy 50 ms later does nothing; the same again AGAIN_GAP_MS after the first sends SIGKILL', async () => {
    const before = process.listenerCount('SIGINT');
    const w = start();
    try {
      process.emit('SIGINT');
      expect(w.f().stop.reason).toBe('SIGINT');
      expect(w.err).toEqual([expect.stringContaining('SIGINT: passing it to what runs in the container')]);
      w.later(50);
      process.emit('SIGINT');
      // Until 2026-11-29 this copy sent SIGKILL: a purge run through `npx` was killed by one Ctrl-C.
      expect(w.f().kill?.aborted).toBe(false);
      w.later(AGAIN_GAP_MS - 51);
      process.emit('SIGINT');
      expect(w.f().kill?.aborted).toBe(false);
      w.later(1);
      process.emit('SIGINT');
      expect(w.f().kill?.reason).toBe('SIGKILL');
      expect(w.err.at(-1)).toBe('phase-compose: sending SIGKILL to the task');
    } finally {
      w.release();
      await w.done;
    }
    expect(process.listenerCount('SIGINT')).toBe(before);
  });

  it('another signal after the first (the terminal closed: SIGHUP), even at once, is said, and is not a second one', async () => {
    const before = process.listenerCount('SIGHUP');
    const w = start();
    try {
      process.emit('SIGINT');
      process.emit('SIGHUP');
      expect(w.f().kill?.aborted).toBe(false);
      expect(w.err.at(-1)).toBe('phase-compose: SIGHUP after SIGINT: nothing more is sent; either again (0.5 s or more after its first) sends SIGKILL to the task if it runs');
      w.later(AGAIN_GAP_MS);
      process.emit('SIGHUP');
      expect(w.f().kill?.reason).toBe('SIGKILL');
      const said = w.err.length;
      process.emit('SIGTERM'); // once SIGKILL is sent, nothing more is said or done
      expect(w.err).toHaveLength(said);
    } finally {
      w.release();
      await w.done;
    }
    expect(process.listenerCount('SIGHUP')).toBe(before);
  });
});
