// Edge: a per-project lock file so a second `up` (or `down`, `migrate`) fails at once instead of racing.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PhaseComposeError } from '../util/errors.js';

export type Lock = { path: string; release(): void };
export type LockOwner = { pid: number; command: string; started: string };

/** Where the lock of `project` lives (one per Docker project on this machine). */
export const lockPath = (project: string, dir = join(tmpdir(), 'phase-compose-locks')) => join(dir, `${project}.lock`);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Takes the lock or throws PhaseComposeError (locked) naming the holder; a lock left by a dead process is taken over. */
export function acquireLock(project: string, command: string, opts: { dir?: string; pid?: number } = {}): Lock {
  const path = lockPath(project, opts.dir);
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o1777 });
  const me: LockOwner = { pid: opts.pid ?? process.pid, command, started: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      return { path, release: () => rmSync(path, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner: LockOwner | undefined;
    try {
      owner = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
    } catch {
      owner = undefined; // being written right now, or garbage: treat as held unless it stays unreadable
    }
    if (owner && alive(owner.pid)) {
      throw new PhaseComposeError('locked', `another phase-compose ${owner.command} is running on project "${project}" (pid ${owner.pid}, since ${owner.started})`, {
        details: [`wait for it to finish, or stop it (kill ${owner.pid}); lock file: ${path}`],
      });
    }
    if (owner || attempt > 0) rmSync(path, { force: true });
  }
  throw new PhaseComposeError('locked', `cannot take the lock ${path}`, { details: ['remove the file if no phase-compose is running'] });
}
