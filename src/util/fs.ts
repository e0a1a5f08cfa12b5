// File edges: atomic writes and backups.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync, existsSync, copyFileSync, unlinkSync } from 'node:fs';
import { dirname, basename, join, isAbsolute, relative, resolve } from 'node:path';

/** Writes a file atomically: a temp file in the same directory, fsync, then rename over the target. */
export function writeFileAtomic(path: string, content: string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/** Copies an existing file to `<file>.bak` (returns the backup path, or undefined when there was nothing). */
export function backupFile(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const bak = `${path}.bak`;
  copyFileSync(path, bak);
  return bak;
}

/** A path as users want to read it: relative to the working directory when inside it, else absolute. */
export function displayPath(p: string): string {
  const abs = resolve(p);
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}
