import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PhaseComposeError } from '../../../src/util/errors.js';
import { writeFileAtomic, type WriteFs } from '../../../src/util/fs.js';
import { AGAIN_GAP_MS, abortOnInterrupt, holdingSignals, type Arrivals } from '../../../src/util/signals.js';

describe('holdingSignals', () => {
  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('%s during a write: the file is completed, no temp file is left, then exit 130', async (signal) => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-sig-'));
    // The signal arrives in the middle of writing the secrets (a real signal to this process).
    const interrupting: WriteFs = {
      ...fs,
      writeSync: ((fd: number, buf: Buffer, off: number, len: number) => {
        if (off === 0) process.kill(process.pid, signal);
        return fs.writeSync(fd, buf, off, Math.min(4, len));
      }) as typeof fs.writeSync,
    };
    const e = await holdingSignals(() => writeFileAtomic(join(dir, '.env'), 'SECRET_KEY=abcdef\n', 0o600, interrupting)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PhaseComposeError);
    expect((e as PhaseComposeError).kind).toBe('interrupted');
    expect(readdirSync(dir)).toEqual(['.env']);
    expect(readFileSync(join(dir, '.env'), 'utf8')).toBe('SECRET_KEY=abcdef\n');
    expect(process.listenerCount(signal)).toBe(0);
  });

  it('returns the result when no signal came', async () => {
    expect(await holdingSignals(() => 42)).toBe(42);
  });
});

describe('onInterrupt', () => {
  // While execa runs a child, its cleanup (signal-exit) listens for SIGINT and SIGTERM too, and kills the
  // process with the signal when it finds itself the only listener left. A `process.once` listener is gone
  // by then: Ctrl-C during a Compose call killed phase-compose mid-upgrade. A real process, a real signal.
  const root = join(import.meta.dirname, '../../..');
  const script = (listen: string, signal: string) => `
    import { execa } from 'execa';
    import { onInterrupt } from './src/util/signals.ts';
    let got = [];
    ${listen}
    const child = execa('sleep', ['5']);
    child.catch(() => {});
    await new Promise((r) => setTimeout(r, 200));
    process.kill(process.pid, '${signal}');
    await new Promise((r) => setTimeout(r, 300));
    child.kill();
    console.log('alive ' + got.join(','));
  `;
  const run = (listen: string, signal = 'SIGINT') => spawnSync('node', ['--import', 'tsx', '--input-type=module', '-e', script(listen, signal)], { cwd: root, encoding: 'utf8', timeout: 30_000 });

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'])('keeps the process alive through a %s while a child runs, and calls back once with the signal', (signal) => {
    const r = run('const stop = onInterrupt((s) => { got.push(s); });', signal);
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull();
    expect(r.stdout.trim()).toBe(`alive ${signal}`);
  });

  it('stops listening to all three when told', () => {
    const r = run("const stop = onInterrupt((s) => { got.push(s); }); stop(); process.on('SIGINT', () => got.push('other'));");
    expect(r.stdout.trim()).toBe('alive other');
  });

  it.each([["process.once('SIGINT', () => { got.push(1); });", 'SIGINT'], ['', 'SIGTERM'], ['', 'SIGHUP']])('(the defect it replaces: %s dies of %s)', (listen, signal) => {
    const r = run(listen, signal);
    expect(r.signal).toBe(signal);
    expect(r.stdout).toBe('');
  });
});

describe('abortOnInterrupt', () => {
  // The listeners are called as a signal would call them (process.emit: nothing is sent to the process);
  // the time between signals comes from a fake `now`.
  const start = (opts: { after?: Arrivals } = {}) => {
    let t = 1000;
    const again: string[] = [];
    let release = () => {};
    let seen: AbortSignal | undefined;
    const done = abortOnInterrupt((s) => ((seen = s), new Promise<string>((res) => (release = () => res(String(s.reason))))), { again: (x) => again.push(x), now: () => t, ...opts });
    return { again, done, release: () => release(), later: (ms: number) => (t += ms), signal: () => seen! };
  };

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('%s aborts the work; the same one again, AGAIN_GAP_MS or more later, stops listening and calls `again`', async (signal) => {
    const before = process.listenerCount(signal);
    const w = start();
    process.emit(signal);
    expect(w.again).toEqual([]);
    w.later(AGAIN_GAP_MS);
    process.emit(signal);
    expect(w.again).toEqual([signal]);
    // Until 2026-11-29 the second one did nothing: work waiting on a hung Engine could not be left.
    expect(process.listenerCount(signal)).toBe(before);
    w.release();
    expect((await w.done).result).toBe(signal);
  });

  it('a repeat sooner than AGAIN_GAP_MS (npx passing the same Ctrl-C on) only aborts again; another signal counts on its own', async () => {
    const before = process.listenerCount('SIGINT');
    const w = start();
    process.emit('SIGINT');
    w.later(AGAIN_GAP_MS - 1);
    process.emit('SIGINT');
    w.later(10_000);
    process.emit('SIGHUP'); // the terminal closed after one Ctrl-C: its first, not a second signal
    expect(w.again).toEqual([]);
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    w.later(AGAIN_GAP_MS);
    process.emit('SIGHUP');
    expect(w.again).toEqual(['SIGHUP']);
    w.release();
    const { result, arrivals } = await w.done;
    expect(result).toBe('SIGINT');
    expect([...arrivals]).toEqual([['SIGINT', 1000], ['SIGHUP', 11_499]]);
    expect(process.listenerCount('SIGINT')).toBe(before);
  });

  it('`after` (a rolling back that follows a Ctrl-C): the same again leaves at once, unless within the gap; another only aborts', async () => {
    const a = start({ after: new Map([['SIGINT', 1000 - AGAIN_GAP_MS]]) });
    process.emit('SIGINT');
    expect(a.again).toEqual(['SIGINT']);
    a.release();
    await a.done;
    // 100 ms after: npx's copy of the Ctrl-C that started this work, which must not stop it (until
    // 2026-11-29 it did: the rolling back ended, two versions left running).
    const b = start({ after: new Map([['SIGINT', 900]]) });
    process.emit('SIGINT');
    expect(b.again).toEqual([]);
    expect(b.signal().aborted).toBe(false);
    process.emit('SIGTERM');
    expect(b.again).toEqual([]);
    b.release();
    expect((await b.done).result).toBe('SIGTERM');
  });

  it('without `again`, a second signal only aborts again (the listeners stay until the work ends)', async () => {
    const before = process.listenerCount('SIGINT');
    let release = () => {};
    const done = abortOnInterrupt((s) => new Promise<boolean>((res) => (release = () => res(s.aborted))));
    process.emit('SIGINT');
    process.emit('SIGINT');
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    release();
    expect((await done).result).toBe(true);
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});
