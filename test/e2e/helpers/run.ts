// Run a command synchronously and capture its output (no shell, argv only).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): RunResult {
  const r = spawnSync(cmd, [...args], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    input: opts.input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: opts.timeoutMs ?? 280_000,
  });
  if (r.error) {
    return { code: 127, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${String(r.error)}` };
  }
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Like run(), but throws (with the command's output) unless it exits 0. */
export function mustRun(cmd: string, args: readonly string[], opts: RunOptions = {}): RunResult {
  const r = run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(
      `command failed (exit ${r.code}): ${cmd} ${args.join(' ')}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`,
    );
  }
  return r;
}

/**
 * Like run(), but without blocking the test worker: a test body that blocks in spawnSync for over a
 * minute starves vitest's worker RPC ("Timeout calling onTaskUpdate") and ends the whole run.
 */
export function runAsync(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, [...args], { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 280_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => resolve({ code: 127, stdout, stderr: `${stderr}${String(e)}` }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/**
 * Starts a command the test can signal while it runs: its stderr so far, and its exit (the code, or the
 * signal's name when it died by one). stdout is kept too.
 */
export function startWatched(cmd: string, args: readonly string[], opts: Pick<RunOptions, 'cwd' | 'env'> = {}): { child: ChildProcess; err: () => string; out: () => string; exited: Promise<number | string> } {
  const child = spawn(cmd, [...args], { cwd: opts.cwd, env: opts.env ?? process.env });
  let err = '';
  let out = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | string>((res) => child.on('exit', (code, signal) => res(code ?? signal ?? -1)));
  return { child, err: () => err, out: () => out, exited };
}

/**
 * A directory on a tiny tmpfs of `size` (mount(8) size, e.g. `64k`): writes past it fail with ENOSPC, a real
 * full disk. Needs root, as the test bed's dockerd does. `done` unmounts it and removes the directory.
 */
export function fullDisk(size = '64k'): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'phase-compose-full-'));
  mustRun('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  return {
    dir,
    done: () => {
      run('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
