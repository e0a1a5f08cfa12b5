// Edge: a per-project lock so a second `up` (or `upgrade`, `down`, `migrate`) fails at once instead of racing.
//
// The lock is an advisory flock(2) on an open file description that this process keeps open: the kernel
// releases it when the process dies, however it dies (kill -9 included, and before it is even reaped), so
// no process id is ever trusted and a reused pid can never hold a project. Node has no flock call, so
// util-linux's `flock` takes it on our descriptor (passed as its fd 3) and exits: a flock belongs to the
// open file description, which stays ours. The file only says who holds it, for the message.
// It lives in a directory only this user can write (0700, checked), never in the shared temporary directory.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PhaseComposeError } from '../util/errors.js';

export type Lock = { path: string; release(): void };
export type LockOwner = { pid: number; command: string; started: string };

/**
 * The private directory of this user's locks: $XDG_STATE_HOME/phase-compose/locks, else
 * ~/.local/state/phase-compose/locks, whatever the session. Not $XDG_RUNTIME_DIR: it is set in a login
 * session only, so an `upgrade` from an ssh shell and an `up` from a systemd unit or cron (or the
 * scheduled backup's unit, against a restore) would each take a lock in their own directory and
 * never meet (until 2026-11-28 the project's lock preferred it).
 */
export function defaultLockDir(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  return join(env.XDG_STATE_HOME || join(home, '.local', 'state'), 'phase-compose', 'locks');
}

/**
 * Which of a project's locks: `project`, held alone by a run that changes the stack (up, upgrade, down,
 * restore, ...); `data`, over its database: held alone by a restore replacing it, shared by backups reading it.
 */
export type LockKind = 'project' | 'data';

/** Where a lock of `project` lives (one per Docker project, kind and user on this machine; a project name has no dot). */
export const lockPath = (project: string, dir = defaultLockDir(), kind: LockKind = 'project') => join(dir, kind === 'data' ? `${project}.data.lock` : `${project}.lock`);

/** Exit code `flock` is told to use when another holds the lock. */
const HELD = 75;

/** Makes `dir` (0700) and refuses one that is a symlink, another user's, or writable by others. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  const bad = !st.isDirectory() ? 'is not a directory (a symlink?)'
    : uid !== undefined && st.uid !== uid ? `belongs to uid ${st.uid}, not to you (uid ${uid})`
    : (st.mode & 0o022) !== 0 ? `is writable by others (mode ${(st.mode & 0o777).toString(8)})`
    : undefined;
  if (bad) throw new PhaseComposeError('problem', `the lock directory ${dir} ${bad}`, { details: ['remove it; phase-compose makes it again, private to you'] });
}

const readOwner = (path: string): LockOwner | undefined => {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    return typeof o.pid === 'number' && typeof o.command === 'string' && typeof o.started === 'string' ? (o as LockOwner) : undefined;
  } catch {
    return undefined;
  }
};

/**
 * The phase-compose that holds the project's lock now, as its file names it; undefined when nobody holds
 * it (the file stays after a release), when this process does, or when the file names nobody. Whether it
 * is held is asked of the kernel (/proc/locks, by the file's inode), never of a pid, and without taking
 * the lock (taken even briefly, it would refuse an `up` started then). Without /proc/locks: unknown.
 */
export function lockHolder(project: string, dir = defaultLockDir(), procLocks = '/proc/locks'): LockOwner | undefined {
  const path = lockPath(project, dir);
  const owner = readOwner(path);
  // The command is printed: only a word a phase-compose command could be.
  if (!owner || owner.pid === process.pid || !/^[a-z][a-z-]{0,30}$/.test(owner.command)) return undefined;
  let ino: number;
  let locks: string;
  try {
    ino = lstatSync(path).ino;
    locks = readFileSync(procLocks, 'utf8');
  } catch {
    return undefined;
  }
  // "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; a waiter's line has "->" and holds nothing.
  const held = locks.split('\n').some((l) => {
    const f = l.trim().split(/\s+/);
    return f[1] === 'FLOCK' && f[5]?.split(':')[2] === String(ino);
  });
  return held ? owner : undefined;
}

/**
 * Takes the lock (`shared`: with other shared holders) or throws PhaseComposeError (locked) naming the
 * holder. The lock ends with `release()` or with this process.
 */
export function acquireLock(project: string, command: string, opts: { dir?: string; kind?: LockKind; shared?: boolean } = {}): Lock {
  const dir = opts.dir ?? defaultLockDir();
  ensurePrivateDir(dir);
  const path = lockPath(project, dir, opts.kind);
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    if (!fstatSync(fd).isFile()) throw new PhaseComposeError('problem', `the lock ${path} is not a regular file`, { details: ['remove it'] });
    const r = spawnSync('flock', [...(opts.shared ? ['--shared'] : []), '--nonblock', '--conflict-exit-code', String(HELD), '3'], { stdio: ['ignore', 'ignore', 'pipe', fd], timeout: 10_000 });
    if (r.error) {
      throw new PhaseComposeError('problem', `cannot take the lock ${path}: ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'the `flock` command (util-linux) is not installed' : r.error.message}`);
    }
    if (r.status === HELD) {
      const owner = readOwner(path);
      const who = owner ? `another phase-compose ${owner.command} (pid ${owner.pid}, since ${owner.started})` : 'another phase-compose';
      throw new PhaseComposeError('locked', `${who} is running on project "${project}"`, {
        details: [`wait for it to finish, or stop it${owner ? ` (kill ${owner.pid})` : ''}; the lock ends with that process (lock file: ${path})`],
      });
    }
    if (r.status !== 0) throw new PhaseComposeError('problem', `cannot take the lock ${path}: flock exited ${r.status}: ${r.stderr.toString().trim()}`);
    const me: LockOwner = { pid: process.pid, command, started: new Date().toISOString() };
    ftruncateSync(fd, 0);
    writeSync(fd, JSON.stringify(me), 0);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let held = true;
  return {
    path,
    release: () => {
      if (!held) return;
      held = false;
      closeSync(fd); // the file stays: unlinking it would let a waiter lock an inode nobody else opens
    },
  };
}
