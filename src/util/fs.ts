// File edges: atomic writes, private directories and backups.
import * as nodeFs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, basename, join, isAbsolute, relative, resolve } from 'node:path';
import { PhaseComposeError } from './errors.js';

/** The few fs calls a write makes; tests pass a fake to simulate a short write or a full disk. */
export type WriteFs = Pick<
  typeof nodeFs,
  'openSync' | 'writeSync' | 'fsyncSync' | 'fchmodSync' | 'closeSync' | 'renameSync' | 'unlinkSync' | 'mkdirSync' | 'chmodSync' | 'existsSync'
>;

/**
 * Creates `dir` and any missing parents with exactly `mode` (mkdir honours the umask, so each
 * directory it creates is chmod-ed after). Existing directories are left as they are.
 */
export function makeDirs(dir: string, mode = 0o755, fs: WriteFs = nodeFs): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !fs.existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      fs.mkdirSync(d, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      continue;
    }
    fs.chmodSync(d, mode);
  }
}

/**
 * Writes a file atomically: a temp file (created 0600, exclusive) in the same directory, every byte
 * written (a short write is continued), fsync, chmod to `mode`, then rename over the target. On any
 * failure the temp file is removed and the previous file is untouched. A symlink at `path` is
 * replaced, never followed.
 */
export function writeFileAtomic(path: string, content: string | Buffer, mode = 0o644, fs: WriteFs = nodeFs): void {
  makeDirs(dirname(path), 0o755, fs);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const fd = fs.openSync(tmp, 'wx', 0o600);
  let open = true;
  try {
    for (let off = 0; off < data.length; ) {
      const n = fs.writeSync(fd, data, off, data.length - off);
      if (!(n > 0)) throw Object.assign(new Error(`short write to ${tmp}: ${off} of ${data.length} bytes`), { code: 'EIO' });
      off += n;
    }
    fs.fsyncSync(fd);
    fs.fchmodSync(fd, mode);
    open = false;
    fs.closeSync(fd);
    fs.renameSync(tmp, path);
  } catch (e) {
    if (open) {
      try { fs.closeSync(fd); } catch { /* already failing */ }
    }
    try { fs.unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  fsyncDir(dirname(path), fs); // the new name too survives a crash, not only the bytes
}

/** The target of `path` when it is a symlink that leads nowhere; undefined otherwise. */
function danglingLink(path: string): string | undefined {
  try {
    return nodeFs.lstatSync(path).isSymbolicLink() ? nodeFs.readlinkSync(path) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why each of `paths` could not be backed up and written, found before anything is written (a write
 * that fails midway leaves some files new and some old): something there that is not a file or a
 * symbolic link, or a nearest existing directory that is not one or cannot be written. Empty: none known.
 */
export function writeProblems(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const path of paths) {
    let st: nodeFs.Stats | undefined;
    try {
      st = nodeFs.lstatSync(path);
    } catch {
      st = undefined;
    }
    if (st && !st.isFile() && !st.isSymbolicLink()) {
      out.push(`${path} is ${fileKind(st)}, not a file`);
      continue;
    }
    let dir = dirname(path);
    for (;;) {
      let d: nodeFs.Stats | undefined;
      try {
        d = nodeFs.statSync(dir);
      } catch {
        d = undefined;
      }
      // A symlink whose target is missing: statSync fails as on a missing directory, but mkdir there
      // fails (EEXIST) after the earlier files were written.
      const link = d ? undefined : danglingLink(dir);
      if (link !== undefined) {
        out.push(`${dir} is a symbolic link to ${link}, which does not exist (for ${path})`);
        break;
      }
      if (d) {
        if (!d.isDirectory()) out.push(`${dir} is ${fileKind(d)}, not a directory (for ${path})`);
        else {
          try {
            nodeFs.accessSync(dir, nodeFs.constants.W_OK | nodeFs.constants.X_OK);
          } catch (e) {
            const why = /^[A-Z]+: ([^,]+)/.exec((e as Error).message)?.[1] ?? (e as Error).message;
            out.push(`${dir} cannot be written: ${why} (for ${path})`);
          }
        }
        break;
      }
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return [...new Set(out)];
}

/**
 * Keeps a copy of an existing file (or symlink) beside it: `<file>.bak`, else `.bak.1`, `.bak.2`, ...;
 * an earlier backup is never overwritten. Returns the backup's path, or undefined when there was nothing.
 */
export function backupFile(path: string): string | undefined {
  let st: nodeFs.Stats;
  try {
    st = nodeFs.lstatSync(path);
  } catch {
    return undefined;
  }
  // Anything but a file or a symlink is refused, and the file is read from a descriptor opened without
  // blocking and checked: until 2026-11-28 a named pipe there blocked `init --force` (and `generate
  // --force`) for good, mid-way, deaf to Ctrl-C while init held the signals for its writes.
  const refuse = (s: nodeFs.Stats) =>
    new PhaseComposeError('problem', `${path} is ${fileKind(s)}, not a file: move it away (phase-compose backs up and replaces only files)`, { details: ['it was left as it is'] });
  if (!st.isFile() && !st.isSymbolicLink()) throw refuse(st);
  for (let i = 0; ; i++) {
    const bak = i === 0 ? `${path}.bak` : `${path}.bak.${i}`;
    try {
      if (st.isSymbolicLink()) nodeFs.symlinkSync(nodeFs.readlinkSync(path), bak);
      else copyHeld(path, bak, refuse);
      return bak;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** Copies the regular file at `from` to a new file `to` (0600 until the copy has `from`'s mode), through a descriptor checked first. */
function copyHeld(from: string, to: string, refuse: (s: nodeFs.Stats) => Error): void {
  const src = nodeFs.openSync(from, nodeFs.constants.O_RDONLY | nodeFs.constants.O_NONBLOCK | nodeFs.constants.O_NOFOLLOW);
  try {
    const st = nodeFs.fstatSync(src);
    if (!st.isFile()) throw refuse(st);
    const dst = nodeFs.openSync(to, 'wx', 0o600);
    try {
      const buf = Buffer.allocUnsafe(1 << 16);
      for (let n; (n = nodeFs.readSync(src, buf, 0, buf.length, null)) > 0; ) {
        for (let off = 0; off < n; ) off += nodeFs.writeSync(dst, buf, off, n - off);
      }
      nodeFs.fchmodSync(dst, st.mode & 0o7777);
    } catch (e) {
      nodeFs.rmSync(to, { force: true }); // a half copy is no backup (a full disk)
      throw e;
    } finally {
      nodeFs.closeSync(dst);
    }
  } finally {
    nodeFs.closeSync(src);
  }
}

/** A path as users want to read it: relative to the working directory when inside it, else absolute. */
export function displayPath(p: string): string {
  const abs = resolve(p);
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

/**
 * Streams `source` into `path` atomically: a temp file (created 0600, exclusive) in the same directory,
 * every byte written, fsync, chmod to `mode`, rename, then fsync of the directory so the name survives a
 * crash. On any failure (the source's, or the disk's: ENOSPC) the temp file is removed and no file has
 * the final name. Returns the bytes written.
 */
export async function writeStreamAtomic(path: string, source: AsyncIterable<Uint8Array>, mode = 0o600): Promise<number> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await nodeFs.promises.open(tmp, 'wx', 0o600);
  let open = true;
  let bytes = 0;
  try {
    for await (const chunk of source) {
      for (let off = 0; off < chunk.length; ) {
        const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
        if (!(bytesWritten > 0)) throw Object.assign(new Error(`short write to ${tmp}`), { code: 'EIO' });
        off += bytesWritten;
      }
      bytes += chunk.length;
    }
    await fh.sync();
    await fh.chmod(mode);
    open = false;
    await fh.close();
    nodeFs.renameSync(tmp, path);
  } catch (e) {
    if (open) await fh.close().catch(() => undefined);
    nodeFs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dirname(path));
  return bytes;
}

/** Makes a rename in `dir` durable (fsync of the directory); a directory that cannot be fsync-ed (some file systems) is left as it is. */
export function fsyncDir(dir: string, fs: Pick<WriteFs, 'openSync' | 'fsyncSync' | 'closeSync'> = nodeFs): void {
  try {
    const dfd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
  } catch { /* the rename is done */ }
}

/**
 * The most read of a text file kept beside a stack (spec directory: env files, generated files, records):
 * each is a few KiB, and a bigger one is refused rather than read into memory.
 */
export const TEXT_FILE_MAX_BYTES = 16 << 20;

export type OnDisk =
  | { kind: 'missing' }
  /** Not read: not a regular file (reading a FIFO blocks forever, a device may never end), or too big. */
  | { kind: 'odd'; why: string; size?: number }
  | { kind: 'file'; data: Buffer; mode: number };

/** What a file system object is, in words: "a directory", "a named pipe (FIFO)", … */
export function fileKind(st: nodeFs.Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/**
 * What is at `path`, read without blocking and never past `maxBytes`: opened non-blocking and checked
 * on the open descriptor, so a FIFO or device (or one swapped in after a check) is never read.
 * `noFollow`: a symbolic link is odd.
 */
export function readOnDisk(path: string, maxBytes: number, opts: { noFollow?: boolean } = {}): OnDisk {
  const { constants } = nodeFs;
  let fd: number;
  try {
    fd = nodeFs.openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (opts.noFollow ? constants.O_NOFOLLOW : 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'odd', why: code === 'ELOOP' ? 'a symbolic link' : `unreadable: ${(e as Error).message}` };
  }
  try {
    const st = nodeFs.fstatSync(fd);
    if (!st.isFile()) return { kind: 'odd', why: st.isDirectory() ? 'a directory' : `not a regular file (${fileKind(st)})` };
    if (st.size > maxBytes) return { kind: 'odd', why: `${st.size} bytes, more than the ${maxBytes} read`, size: st.size };
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = nodeFs.readSync(fd, buf, n, buf.length - n, n);
    // One byte more than fstat said is there: it grew while read, and what was read is not all of it.
    if (n > st.size) return n > maxBytes ? { kind: 'odd', why: `more than the ${maxBytes} bytes read (it grew while read)`, size: n } : { kind: 'odd', why: 'it changed while read' };
    return { kind: 'file', data: buf.subarray(0, n), mode: st.mode & 0o777 };
  } catch (e) {
    return { kind: 'odd', why: `unreadable: ${(e as Error).message}` };
  } finally {
    nodeFs.closeSync(fd);
  }
}

/**
 * A file kept beside a stack, read as readOnDisk reads it (a regular file of at most
 * TEXT_FILE_MAX_BYTES); undefined when it is missing, a PhaseComposeError naming why otherwise.
 */
export function readStackFile(path: string): Buffer | undefined {
  const d = readOnDisk(path, TEXT_FILE_MAX_BYTES);
  if (d.kind === 'missing') return undefined;
  if (d.kind === 'odd') throw new PhaseComposeError('problem', `cannot read ${displayPath(path)}: ${d.why}`, { details: ['it should be a small regular file: move it away, or put the right file there'] });
  return d.data;
}

/** readStackFile() as UTF-8 text. */
export function readStackText(path: string): string | undefined {
  return readStackFile(path)?.toString('utf8');
}

/**
 * A file opened once, so that every read of it reads the same bytes (the same inode), whatever happens to
 * its name meanwhile. A restore reads its archive twice: in full to check it, then into pg_restore once
 * the app is stopped. Read by name each time, an archive rotated away by a scheduled backup (or a file
 * renamed over it) between the two failed the restore with the app already stopped.
 */
export type HeldFile = {
  readonly path: string;
  /** Its size when it was opened. */
  readonly size: number;
  /** The whole file from its first byte; reads of several streams at once do not disturb each other. */
  stream(highWaterMark?: number): nodeFs.ReadStream;
  /** Up to `n` bytes from its start. */
  head(n: number): Buffer;
  close(): void;
};

/** A path, or a file held open: what the readers of a backup take. */
export type FileSource = string | HeldFile;

/** The name of `f` for messages. */
export const sourcePath = (f: FileSource): string => (typeof f === 'string' ? f : f.path);

/** The size of `f` in bytes. */
export const sourceSize = (f: FileSource): number => (typeof f === 'string' ? nodeFs.statSync(f).size : f.size);

/** `f` from its first byte: a held file from its descriptor, a path opened now. */
export const readSource = (f: FileSource, highWaterMark?: number): nodeFs.ReadStream =>
  typeof f === 'string' ? nodeFs.createReadStream(f, highWaterMark ? { highWaterMark } : {}) : f.stream(highWaterMark);

/** The fs calls of a stream over a held descriptor: reads as usual, and a close that leaves it open. */
const KEEP_OPEN = { read: nodeFs.read, close: (_fd: number, cb: (e: NodeJS.ErrnoException | null) => void) => cb(null) };

/**
 * Opens `path` for reading and keeps it open until `close()`. Opened non-blocking and checked on the
 * descriptor (a FIFO swapped in after a check never reaches a read): `refuse` first, to refuse in the
 * caller's words, then anything but a regular file is a usage error.
 */
export function holdFile(path: string, refuse?: (st: nodeFs.Stats) => void): HeldFile {
  const { constants } = nodeFs;
  const fd = nodeFs.openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const st = nodeFs.fstatSync(fd);
  try {
    refuse?.(st);
    if (!st.isFile()) throw new PhaseComposeError('usage', `${path} is ${fileKind(st)}, not a regular file`);
  } catch (e) {
    nodeFs.closeSync(fd);
    throw e;
  }
  let open = true;
  return {
    path,
    size: st.size,
    // With `start`, each read says where (pread): streams of one descriptor do not share a position. A
    // stream closes its descriptor when destroyed, autoClose or not: its close is made a no-op, so that
    // only close() below closes it (else the number, reused by a socket, was read from: ESPIPE).
    stream: (highWaterMark) =>
      nodeFs.createReadStream(path, { fd, start: 0, autoClose: false, fs: KEEP_OPEN, ...(highWaterMark ? { highWaterMark } : {}) }),
    head: (n) => {
      const b = Buffer.alloc(n);
      return b.subarray(0, nodeFs.readSync(fd, b, 0, n, 0));
    },
    close: () => {
      if (open) nodeFs.closeSync(fd);
      open = false;
    },
  };
}

/** Runs `work` on `path` held open (holdFile, with `refuse`), and closes it whatever happens. */
export async function withHeldFile<T>(path: string, work: (file: HeldFile) => Promise<T>, refuse?: (st: nodeFs.Stats) => void): Promise<T> {
  const file = holdFile(path, refuse);
  try {
    return await work(file);
  } finally {
    file.close();
  }
}
