// A standard stream that fails: the process goes on; the exit code says what a lost write means.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { afterLostOutput, keepGoingWhenOutputFails } from '../../../src/cli/io.js';

const errno = (code: string) => Object.assign(new Error(code), { code });

describe('keepGoingWhenOutputFails', () => {
  it('listens for each stream\'s error (unheard, it ends the process) and keeps the first of each', () => {
    const stdout = new EventEmitter();
    const stderr = new EventEmitter();
    const lost = keepGoingWhenOutputFails({ stdout, stderr });
    expect(lost()).toEqual([]);
    // An 'error' event with no listener throws here, as it killed the process.
    stdout.emit('error', errno('EPIPE'));
    stdout.emit('error', errno('ERR_STREAM_DESTROYED'));
    stderr.emit('error', errno('ENOSPC'));
    expect(lost()).toEqual([{ name: 'stdout', code: 'EPIPE' }, { name: 'stderr', code: 'ENOSPC' }]);
  });
});

describe('afterLostOutput', () => {
  it('a reader gone (EPIPE, or EIO from a terminal that hung up) leaves the command\'s own code', () => {
    expect(afterLostOutput(0, [{ name: 'stdout', code: 'EPIPE' }, { name: 'stderr', code: 'EIO' }], 1)).toEqual({ code: 0 });
    expect(afterLostOutput(4, [{ name: 'stdout', code: 'EPIPE' }], 1)).toEqual({ code: 4 });
  });

  it('a success whose stdout is short (a full disk under > file) is a problem, said on stderr while it works', () => {
    expect(afterLostOutput(0, [{ name: 'stdout', code: 'ENOSPC' }], 1)).toEqual({
      code: 1, line: 'phase-compose: the command finished, but its stdout could not be written in full: the disk is full',
    });
    expect(afterLostOutput(0, [{ name: 'stdout', code: 'EBADF' }, { name: 'stderr', code: 'EPIPE' }], 1)).toEqual({ code: 1 });
  });

  it('a failed command keeps its own code whatever its output did', () => {
    expect(afterLostOutput(130, [{ name: 'stderr', code: 'ENOSPC' }], 1)).toEqual({ code: 130 });
    expect(afterLostOutput(0, [], 1)).toEqual({ code: 0 });
  });
});
