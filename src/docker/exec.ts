// Edge: run an argv inside a container through the Engine's exec API (no shell), with separated streams.
import { PassThrough, type Writable } from 'node:stream';
import type { DockerClient } from './client.js';

export type ExecOptions = {
  env?: string[];
  user?: string;
  workingDir?: string;
  /** Live copies of the output (e.g. process.stdout); the result also keeps it when `capture` is set. */
  stdout?: Writable;
  stderr?: Writable;
  /** Keep the output in the result (default true). */
  capture?: boolean;
  /** Bytes to write to the process's stdin, then close it. */
  stdin?: NodeJS.ReadableStream | Buffer | string;
};

export type ExecResult = { exitCode: number; stdout: string; stderr: string; output: string };

/**
 * Runs `argv` in a container and waits for it to end. Never throws for a non-zero exit: the caller
 * decides what failure means. Output is demultiplexed (Tty: false) and read to the end before the
 * exit code is taken from exec inspect.
 */
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
  const capture = opts.capture ?? true;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const all: Buffer[] = [];
  const sink = (keep: Buffer[], live?: Writable) => {
    const p = new PassThrough();
    p.on('data', (b: Buffer) => {
      if (capture) {
        keep.push(b);
        all.push(b);
      }
      live?.write(b);
    });
    return p;
  };
  const done = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  docker.modem.demuxStream(stream, sink(out, opts.stdout), sink(err, opts.stderr));
  if (opts.stdin !== undefined) {
    if (typeof opts.stdin === 'string' || Buffer.isBuffer(opts.stdin)) stream.end(opts.stdin);
    else opts.stdin.pipe(stream);
  }
  await done;
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
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    output: Buffer.concat(all).toString('utf8'),
  };
}
