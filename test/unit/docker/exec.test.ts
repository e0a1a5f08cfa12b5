// The exec edge's parts that need no Engine: execIn's handling of the connection's end, against a fake
// connection (a Duplex) - the race it guards against (the Engine closing the connection with input still
// unread) was seen once on the test bed's Engine 26.1.5, in a restore's `pg_restore --list`, and is not
// reproducible at will there; and execProcess, which finds the process a Ctrl-C is forwarded to, on a fake
// /proc. Forwarding itself is tested on the real Engine (exec.e2e: Ctrl-C during a purge).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { DockerClient } from '../../../src/docker/client.js';
import { execIn, execProcess, tail } from '../../../src/docker/exec.js';

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

describe('execProcess: the exec\'s process in /proc, only when it is that process', () => {
  const proc = mkdtempSync(join(tmpdir(), 'pc-proc-'));
  afterAll(() => rmSync(proc, { recursive: true, force: true }));
  const fake = (pid: number, argv: string[], nspid: string) => {
    mkdirSync(join(proc, String(pid)), { recursive: true });
    writeFileSync(join(proc, String(pid), 'cmdline'), `${argv.join('\0')}\0`);
    writeFileSync(join(proc, String(pid), 'status'), `Name:\tpython\nUid:\t10001\t10001\t10001\t10001\nNSpid:\t${nspid}\n`);
  };
  const argv = ['python', 'manage.py', 'purge_app_logs', 'Acme; rm -rf /'];

  it('gives the host PID and the PID in the container (NSpid\'s last field)', () => {
    fake(4242, argv, '4242\t57');
    expect(execProcess(4242, argv, proc)).toEqual({ hostPid: 4242, containerPid: 57 });
  });

  it('refuses a PID that runs something else (another PID namespace, a remote Engine, a reused PID)', () => {
    fake(4343, ['bash'], '4343\t1');
    expect(execProcess(4343, argv, proc)).toBeUndefined();
    fake(4444, [...argv, 'extra'], '4444\t9');
    expect(execProcess(4444, argv, proc)).toBeUndefined();
  });

  it('refuses what is not a PID, and a process that is gone', () => {
    for (const pid of [0, -1, 1.5, Number.NaN]) expect(execProcess(pid, argv, proc)).toBeUndefined();
    expect(execProcess(999_999, argv, proc)).toBeUndefined();
    fake(4545, argv, 'garbage');
    expect(execProcess(4545, argv, proc)).toBeUndefined();
  });
});

describe('what a result keeps of a stream: its tail, bounded', () => {
  it('keeps the last bytes, whatever the chunk sizes', () => {
    const t = tail(10);
    for (const s of ['abc', 'defghij', 'klmnopqrstuvwxyz', '0', '12']) t.push(Buffer.from(s));
    expect(t.text()).toBe('tuvwxyz012');
    const u = tail(10);
    u.push(Buffer.from('x'.repeat(25)));
    u.push(Buffer.from('end'));
    expect(u.text()).toBe('xxxxxxxend');
    const v = tail(10);
    v.push(Buffer.from('short'));
    expect(v.text()).toBe('short');
    const none = tail(0);
    none.push(Buffer.from('a'));
    none.push(Buffer.from('bc'));
    expect(none.text()).toBe('');
  });

  it('execIn holds at most captureLimit bytes of a command that prints on and on (until 2026-11-29 all of it): the result line at the end is kept', async () => {
    const { docker, reached } = fakeEngine(`${'noise\n'.repeat(5000)}phase-compose-reset: changed=2 total=3\n`, 'ECONNRESET', { Running: false, ExitCode: 0 });
    const r = await execIn(docker, 'c', ['python'], { stdin: '', stdout: sink(reached), captureLimit: 100 });
    expect(r.stdout.length).toBe(100);
    expect(r.output).toMatch(/phase-compose-reset: changed=2 total=3\n$/);
  });
});
