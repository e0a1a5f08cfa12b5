import * as fs from 'node:fs';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PhaseComposeError } from '../../../src/util/errors.js';
import { writeFileAtomic, type WriteFs } from '../../../src/util/fs.js';
import { holdingSignals } from '../../../src/util/signals.js';

describe('holdingSignals', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s during a write: the file is completed, no temp file is left, then exit 130', async (signal) => {
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
