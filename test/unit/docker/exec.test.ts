// execIn's handling of the exec connection's end, against a fake Engine connection (a Duplex). The race it
// guards against (the Engine closing the connection with input still unread) was seen once on the test
// bed's Engine 26.1.5, in a restore's `pg_restore --list`, and is not reproducible at will there.
import { Duplex, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { DockerClient } from '../../../src/docker/client.js';
import { execIn } from '../../../src/docker/exec.js';

/** One stdout frame of Docker's multiplexed stream. */
const frame = (text: string) => {
  const body = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = 1;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
};

/**
 * A connection that takes no input (the command never reads it), sends `output`, and then fails with
 * `code` once the output has reached the caller (`reached` is called by the test's stdout sink).
 */
function fakeEngine(output: string, code: string, exit: { Running: boolean; ExitCode: number }) {
  const conn = new Duplex({
    read() {},
    write(_c, _e, _cb) {
      /* input never taken */
    },
  });
  conn.push(frame(output));
  const reached = () => conn.destroy(Object.assign(new Error(`read ${code}`), { code }));
  const docker = {
    getContainer: () => ({
      exec: async () => ({ start: async () => conn, inspect: async () => exit }),
    }),
  } as unknown as DockerClient;
  return { docker, reached };
}

const sink = (onData: () => void) =>
  new Writable({
    write(_c, _e, cb) {
      cb();
      setImmediate(onData);
    },
  });

describe('execIn when the Engine closes the connection before it took all the input', () => {
  for (const code of ['ECONNRESET', 'EPIPE']) {
    it(`returns the output and the exit code on ${code} (the command ended without reading its input)`, async () => {
      const { docker, reached } = fakeEngine('toc listing\n', code, { Running: false, ExitCode: 0 });
      const r = await execIn(docker, 'c', ['pg_restore', '--list'], { stdin: Buffer.alloc(1 << 20), stdout: sink(reached) });
      expect(r).toMatchObject({ exitCode: 0, stdout: 'toc listing\n' });
    });
  }

  it('keeps a failed exit code: the caller still sees the command fail', async () => {
    const { docker, reached } = fakeEngine('partial\n', 'ECONNRESET', { Running: false, ExitCode: 1 });
    const r = await execIn(docker, 'c', ['pg_restore'], { stdin: Buffer.alloc(1 << 20), stdout: sink(reached) });
    expect(r.exitCode).toBe(1);
  });

  it('still throws a reset when no input was given: that is not a command leaving its input unread', async () => {
    const { docker, reached } = fakeEngine('x\n', 'ECONNRESET', { Running: false, ExitCode: 0 });
    await expect(execIn(docker, 'c', ['true'], { stdout: sink(reached) })).rejects.toThrow('read ECONNRESET');
  });
});
