// Edge: run an argv inside a container through the Engine's exec API (no shell), with separated streams.
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { drained } from '../util/streams.js';
import type { DockerClient } from './client.js';

export type ExecOptions = {
  env?: string[];
  user?: string;
  workingDir?: string;
  /** Live copies of the output (e.g. process.stdout); the result also keeps it when `capture` is set. */
  stdout?: Writable;
  stderr?: Writable;
  /** Keep the output in the result (default true): at most its last `captureLimit` bytes per stream. */
  capture?: boolean;
  /** Default CAPTURE_LIMIT. */
  captureLimit?: number;
  /** Bytes to write to the process's stdin, then close it. */
  stdin?: NodeJS.ReadableStream | Buffer | string;
  /**
   * Gives up on the command: its connection is closed, so its output has nowhere to go and the Engine
   * ends it (a command that writes more gets SIGPIPE). The result is what the Engine says afterwards.
   */
  signal?: AbortSignal;
  /**
   * Ctrl-C for a command that must not outlive phase-compose (a purge deleting in batches), instead of
   * `signal`: when `stop` fires, the command gets that signal (its reason: SIGINT or SIGTERM) in its
   * container; when `kill` fires, SIGKILL. Its output is read on until it ends. See `signalExec`.
   */
  forward?: { stop: AbortSignal; kill?: AbortSignal };
};

/**
 * What a result keeps of each stream: its last 16 MiB. A command's output is the container's to choose
 * (a task printing in a loop): until 2026-11-29 all of it was held in memory.
 */
export const CAPTURE_LIMIT = 16 << 20;

type Tail = { push(b: Buffer): void; text(): string };

/** The last `limit` bytes of what is pushed (whole chunks dropped from the front, then the first one cut). Pure. */
export function tail(limit: number): Tail {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    push(b) {
      chunks.push(b);
      size += b.length;
      while (chunks.length > 1 && size - chunks[0]!.length >= limit) size -= chunks.shift()!.length;
      if (size > limit) {
        chunks[0] = chunks[0]!.subarray(size - limit);
        size = limit;
      }
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

export type ExecResult = {
  exitCode: number;
  stdout: string;
  stderr: string;
  output: string;
  /** Set when `forward` fired: the signal last sent, and whether it reached the command (false: it may still run). */
  forwarded?: { signal: string; delivered: boolean };
};

/** The exec's process as the host sees it: its host PID and its PID in the container, or undefined. */
export type ExecProcess = { hostPid: number; containerPid: number };

/**
 * Finds the exec's process in the host's /proc, as the Engine reported it (`Pid` of exec inspect): only
 * when that PID runs exactly the exec's argv (so not when phase-compose runs in another PID namespace, or
 * talks to a remote Engine, where the PID means another process or none; nor when the process rewrote
 * its argv). Reads /proc/<pid>/cmdline and status: bounded by the kernel's argv limit.
 */
export function execProcess(pid: number, argv: readonly string[], proc = '/proc'): ExecProcess | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    const cmdline = readFileSync(`${proc}/${pid}/cmdline`, 'utf8');
    if (cmdline !== `${argv.join('\0')}\0`) return undefined;
    const nspid = /^NSpid:\s*(.+)$/m.exec(readFileSync(`${proc}/${pid}/status`, 'utf8'))?.[1]?.trim().split(/\s+/);
    const containerPid = Number(nspid?.at(-1));
    return Number.isSafeInteger(containerPid) && containerPid > 0 ? { hostPid: pid, containerPid } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sends `sig` to a running exec's process: from the host when allowed (phase-compose as root), else from
 * inside its container as the container's user (`kill`, as a shell builtin or a binary). Says whether it
 * was sent, could not be, or whether the command had ended already (then nothing was sent).
 */
async function signalExec(docker: DockerClient, containerId: string, exec: { inspect(): Promise<{ Running?: boolean; Pid?: number }> }, argv: readonly string[], sig: NodeJS.Signals): Promise<'sent' | 'ended' | 'failed'> {
  const info = await exec.inspect().catch(() => undefined);
  if (!info) return 'failed';
  if (!info.Running) return 'ended';
  const p = execProcess(info.Pid ?? 0, argv);
  if (!p) return 'failed';
  try {
    process.kill(p.hostPid, sig);
    return 'sent';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return 'ended';
  }
  const name = sig.replace(/^SIG/, '');
  for (const kill of [['sh', '-c', 'kill -s "$1" "$2"', 'sh', name, String(p.containerPid)], ['kill', '-s', name, String(p.containerPid)]]) {
    const r = await execIn(docker, containerId, kill).catch(() => undefined);
    if (r?.exitCode === 0) return 'sent';
  }
  return (await exec.inspect().catch(() => undefined))?.Running === false ? 'ended' : 'failed';
}

export async function execIn(docker: DockerClient, containerId: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const container = docker.getContainer(containerId);
  const exec = await container.exec({
    Cmd: argv,
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: opts.stdin !== undefined,
    Tty: false,
    ...(opts.env ? { Env: opts.env } : {}),
    ...(opts.user ? { User: opts.user } : {}),
    ...(opts.workingDir ? { WorkingDir: opts.workingDir } : {}),
  });
  const stream = await exec.start({ hijack: true, stdin: opts.stdin !== undefined });
  const giveUp = () => stream.destroy();
  if (opts.signal?.aborted) giveUp();
  else opts.signal?.addEventListener('abort', giveUp, { once: true });
  let forwarded: ExecResult['forwarded'];
  const sending: Array<Promise<void>> = [];
  // `stop` sends the signal named by its reason (SIGINT, SIGTERM; else SIGINT); `kill` always SIGKILL.
  const forward = (signal: AbortSignal, fixed?: NodeJS.Signals) => {
    const send = () => {
      const sig = fixed ?? (typeof signal.reason === 'string' && /^SIG[A-Z]+$/.test(signal.reason) ? (signal.reason as NodeJS.Signals) : 'SIGINT');
      sending.push(signalExec(docker, containerId, exec, argv, sig).then((how) => {
        if (how === 'ended') return; // it ended by itself: its own exit stands
        forwarded = { signal: sig, delivered: how === 'sent' };
        if (how === 'failed') giveUp(); // as before: its output has nowhere to go
      }));
    };
    if (signal.aborted) send();
    else signal.addEventListener('abort', send, { once: true });
    return () => signal.removeEventListener('abort', send);
  };
  const unforward = opts.forward ? [forward(opts.forward.stop), ...(opts.forward.kill ? [forward(opts.forward.kill, 'SIGKILL')] : [])] : [];
  const capture = opts.capture ?? true;
  const limit = opts.captureLimit ?? CAPTURE_LIMIT;
  const out = tail(limit);
  const err = tail(limit);
  const all = tail(limit);
  const keep = (into: Tail, b: Buffer) => {
    if (!capture) return;
    into.push(b);
    all.push(b);
  };
  const demux = demuxer(
    (b) => (keep(out, b), opts.stdout),
    (b) => (keep(err, b), opts.stderr),
  );
  const done = new Promise<void>((resolve, reject) => {
    const end = () => {
      if (!demux.writableEnded) demux.end();
    };
    demux.on('finish', resolve);
    stream.on('close', end);
    // A command that ends without reading all its input (pg_restore --list reads only the dump's table of
    // contents) can leave input the Engine never took: it then closes the connection with that input
    // unread, and the socket fails (ECONNRESET, or EPIPE on a write) where it would have ended. The output
    // sent before it is read first; the exit code below says how the command ended.
    stream.on('error', (e: NodeJS.ErrnoException) => (opts.stdin !== undefined && (e.code === 'ECONNRESET' || e.code === 'EPIPE') ? end() : reject(e)));
    demux.on('error', reject);
  });
  // pipe() honours the demuxer's back-pressure: a slow consumer (a dump being encrypted and written) pauses
  // the socket, and with it the command in the container, instead of piling its output up in memory.
  stream.pipe(demux);
  if (opts.stdin !== undefined) {
    if (typeof opts.stdin === 'string' || Buffer.isBuffer(opts.stdin)) stream.end(opts.stdin);
    else opts.stdin.pipe(stream);
  }
  await done.finally(() => {
    opts.signal?.removeEventListener('abort', giveUp);
    for (const f of unforward) f();
  });
  await Promise.all(sending);
  // All output is read. The hijacked socket is half-open (the Engine closed its side); left alone it keeps
  // the process alive for up to ~25 s after the command is done, so close it now.
  stream.destroy();
  // The exit code can lag the stream's end by a moment.
  let info = await exec.inspect();
  for (let i = 0; info.Running && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 20));
    info = await exec.inspect();
  }
  return {
    exitCode: info.ExitCode ?? -1,
    stdout: out.text(),
    stderr: err.text(),
    output: all.text(),
    ...(forwarded ? { forwarded } : {}),
  };
}

/**
 * A Writable that splits Docker's multiplexed stream (8-byte frame headers: type, 0, 0, 0, big-endian
 * length) into stdout and stderr payloads. `route` is told each payload and returns where it goes live;
 * a write that the destination refuses holds the next frame until it drains (back-pressure end to end).
 */
export function demuxer(stdout: (b: Buffer) => Writable | undefined, stderr: (b: Buffer) => Writable | undefined): Writable {
  let pending = Buffer.alloc(0);
  let type = -1;
  let left = 0;
  return new Writable({
    write(chunk: Buffer, _e, cb) {
      let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      pending = Buffer.alloc(0);
      let wait: Writable | undefined;
      while (buf.length) {
        if (left === 0) {
          if (buf.length < 8) {
            pending = Buffer.from(buf);
            break;
          }
          type = buf[0]!;
          left = buf.readUInt32BE(4);
          buf = buf.subarray(8);
          continue;
        }
        const part = buf.subarray(0, left);
        buf = buf.subarray(part.length);
        left -= part.length;
        const to = type === 2 ? stderr(part) : stdout(part);
        // A destination that failed is skipped: the command runs to its end, its caller reports the failure.
        if (to && !to.destroyed && !to.write(part)) wait = to;
      }
      if (!wait) return cb();
      void drained(wait).then(() => cb());
    },
  });
}
