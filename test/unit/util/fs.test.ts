import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, lstatSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupFile, holdFile, makeDirs, readOnDisk, readStackText, withHeldFile, writeFileAtomic, type WriteFs } from '../../../src/util/fs.js';
import { buffer } from 'node:stream/consumers';
import { refuseNonBackup } from '../../../src/backup/restore.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'pc-fs-'));

describe('writeFileAtomic', () => {
  it('continues a short write until every byte is written', () => {
    const dir = fresh();
    const path = join(dir, 'out.yml');
    const content = 'x'.repeat(10_000) + 'é\n';
    // At most 7 bytes per call, as a nearly full pipe or disk may do.
    let calls = 0;
    const shortFs: WriteFs = { ...fs, writeSync: ((fd: number, buf: Buffer, off: number, len: number) => (calls++, fs.writeSync(fd, buf, off, Math.min(7, len)))) as typeof fs.writeSync };
    writeFileAtomic(path, content, 0o644, shortFs);
    expect(readFileSync(path, 'utf8')).toBe(content);
    expect(calls).toBe(Math.ceil(Buffer.byteLength(content) / 7));
  });

  it.each([
    ['ENOSPC on the third write', (n: number) => { if (n === 3) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }); }, /ENOSPC/],
    ['a write that makes no progress', (n: number) => (n === 2 ? 0 : undefined), /short write/],
  ])('%s: throws, keeps the previous file, leaves no temp file', (_, fault, message) => {
    const dir = fresh();
    const path = join(dir, 'docker-compose.yml');
    writeFileSync(path, 'previous\n');
    let calls = 0;
    const failingFs: WriteFs = {
      ...fs,
      writeSync: ((fd: number, buf: Buffer, off: number, len: number) => {
        const r = fault(++calls);
        if (r !== undefined) return r;
        return fs.writeSync(fd, buf, off, Math.min(100, len));
      }) as typeof fs.writeSync,
    };
    expect(() => writeFileAtomic(path, 'y'.repeat(1000), 0o644, failingFs)).toThrow(message);
    expect(readFileSync(path, 'utf8')).toBe('previous\n');
    expect(readdirSync(dir)).toEqual(['docker-compose.yml']);
  });

  it.runIf(existsSync('/dev/full'))('a real ENOSPC (/dev/full) propagates', () => {
    const fd = fs.openSync('/dev/full', 'w');
    const devFull: WriteFs = { ...fs, openSync: (() => fd) as unknown as typeof fs.openSync, unlinkSync: () => {}, renameSync: () => { throw new Error('renamed after a failed write'); } };
    expect(() => writeFileAtomic(join(fresh(), 'f'), 'data', 0o644, devFull)).toThrow(/ENOSPC/);
  });

  it('creates the temp file 0600 and exclusive from the start, then gives the file its mode', () => {
    const dir = fresh();
    const opens: Array<[string, unknown, unknown]> = [];
    const spy: WriteFs = { ...fs, openSync: ((p: string, flags: unknown, mode: unknown) => (opens.push([p, flags, mode]), fs.openSync(p, flags as string, mode as number))) as typeof fs.openSync };
    writeFileAtomic(join(dir, '.env'), 'SECRET=1\n', 0o600, spy);
    const files = opens.filter(([p]) => p !== dir); // the directory is opened too, to fsync it
    expect(files).toHaveLength(1);
    expect(files[0]!.slice(1)).toEqual(['wx', 0o600]);
    expect(statSync(join(dir, '.env')).mode & 0o777).toBe(0o600);
    writeFileAtomic(join(dir, 'pub'), 'x', 0o644, spy);
    expect(statSync(join(dir, 'pub')).mode & 0o777).toBe(0o644);
  });

  it('fsyncs the file, renames it, then fsyncs its directory so that the new name survives a crash', () => {
    const dir = fresh();
    const steps: string[] = [];
    const fds = new Map<number, string>();
    const spy: WriteFs = {
      ...fs,
      openSync: ((p: string, flags: string, mode?: number) => {
        const fd = fs.openSync(p, flags, mode);
        fds.set(fd, p === dir ? 'dir' : 'file');
        return fd;
      }) as typeof fs.openSync,
      fsyncSync: ((fd: number) => (steps.push(`fsync ${fds.get(fd)}`), fs.fsyncSync(fd))) as typeof fs.fsyncSync,
      renameSync: ((a: string, b: string) => (steps.push('rename'), fs.renameSync(a, b))) as typeof fs.renameSync,
    };
    writeFileAtomic(join(dir, 'docker-compose.yml'), 'services: {}\n', 0o644, spy);
    expect(steps).toEqual(['fsync file', 'rename', 'fsync dir']);
    expect(readdirSync(dir)).toEqual(['docker-compose.yml']);
  });

  it('replaces a symlink instead of following it', () => {
    const dir = fresh();
    writeFileSync(join(dir, 'target'), 'keep');
    symlinkSync(join(dir, 'target'), join(dir, 'link'));
    writeFileAtomic(join(dir, 'link'), 'new');
    expect(readFileSync(join(dir, 'target'), 'utf8')).toBe('keep');
    expect(lstatSync(join(dir, 'link')).isFile()).toBe(true);
  });
});

describe('makeDirs', () => {
  it('under umask 000 creates every missing directory with the mode asked for, not world-writable', () => {
    const dir = fresh();
    const old = process.umask(0);
    try {
      makeDirs(join(dir, 'a/b/c'));
      makeDirs(join(dir, 'p/q'), 0o700);
    } finally {
      process.umask(old);
    }
    for (const d of ['a', 'a/b', 'a/b/c']) expect(statSync(join(dir, d)).mode & 0o777, d).toBe(0o755);
    for (const d of ['p', 'p/q']) expect(statSync(join(dir, d)).mode & 0o777, d).toBe(0o700);
    expect(statSync(dir).mode & 0o777).toBe(0o700); // existing: left alone
  });
});

describe('backupFile', () => {
  it('never overwrites an earlier backup: .bak, .bak.1, .bak.2; keeps the mode', () => {
    const dir = fresh();
    const p = join(dir, '.env');
    writeFileSync(p, 'one', { mode: 0o600 });
    expect(backupFile(p)).toBe(`${p}.bak`);
    writeFileSync(p, 'two');
    expect(backupFile(p)).toBe(`${p}.bak.1`);
    writeFileSync(p, 'three');
    expect(backupFile(p)).toBe(`${p}.bak.2`);
    expect([`${p}.bak`, `${p}.bak.1`, `${p}.bak.2`].map((f) => readFileSync(f, 'utf8'))).toEqual(['one', 'two', 'three']);
    expect(statSync(`${p}.bak`).mode & 0o777).toBe(0o600);
    expect(backupFile(join(dir, 'none'))).toBeUndefined();
  });

  it('refuses a named pipe or a directory at once, and leaves it (a FIFO blocked init --force for good)', () => {
    const dir = fresh();
    const fifo = join(dir, 'default.conf');
    execFileSync('mkfifo', [fifo]);
    expect(() => backupFile(fifo)).toThrowError(expect.objectContaining({ kind: 'problem', message: `${fifo} is a named pipe (FIFO), not a file: move it away (phase-compose backs up and replaces only files)` }));
    expect(() => backupFile(dir)).toThrowError(/is a directory, not a file/);
    expect(existsSync(`${fifo}.bak`)).toBe(false);
    // A file's copy keeps its bytes and mode through the checked descriptor.
    writeFileSync(join(dir, 'x'), 'abc'.repeat(50_000), { mode: 0o640 });
    chmodSync(join(dir, 'x'), 0o640);
    expect(readFileSync(backupFile(join(dir, 'x'))!, 'utf8')).toBe('abc'.repeat(50_000));
    expect(statSync(join(dir, 'x.bak')).mode & 0o777).toBe(0o640);
  });

  it('keeps a symlink as a symlink', () => {
    const dir = fresh();
    symlinkSync('/etc/hostname', join(dir, 'l'));
    const bak = backupFile(join(dir, 'l'))!;
    expect(readlinkSync(bak)).toBe('/etc/hostname');
  });
});

describe('readOnDisk', () => {
  it('reads a regular file, and says what anything else is without reading it', () => {
    const dir = fresh();
    writeFileSync(join(dir, 'f'), 'abc', { mode: 0o640 });
    expect(readOnDisk(join(dir, 'f'), 3)).toEqual({ kind: 'file', data: Buffer.from('abc'), mode: 0o640 });
    expect(readOnDisk(join(dir, 'nothing'), 3)).toEqual({ kind: 'missing' });
    expect(readOnDisk(join(dir, 'f'), 2)).toMatchObject({ kind: 'odd', size: 3 });
    expect(readOnDisk(dir, 100)).toMatchObject({ kind: 'odd', why: 'a directory' });
    symlinkSync(join(dir, 'f'), join(dir, 'link'));
    expect(readOnDisk(join(dir, 'link'), 3)).toMatchObject({ kind: 'file' });
    expect(readOnDisk(join(dir, 'link'), 3, { noFollow: true })).toMatchObject({ kind: 'odd', why: 'a symbolic link' });
  });

  it('never blocks on a FIFO (no writer) and never reads a device', () => {
    const dir = fresh();
    expect(spawnSync('mkfifo', [join(dir, 'fifo')]).status).toBe(0);
    expect(readOnDisk(join(dir, 'fifo'), 100)).toMatchObject({ kind: 'odd', why: 'not a regular file (a named pipe (FIFO))' });
    expect(readOnDisk('/dev/zero', 100)).toMatchObject({ kind: 'odd', why: 'not a regular file (a character device)' });
  });

  it('never returns part of a file that holds more than its size said (it grew, or /proc reports 0)', () => {
    expect(readOnDisk('/proc/self/status', 1 << 16)).toEqual({ kind: 'odd', why: 'it changed while read' });
  });

  it('readStackText: missing is undefined; anything odd is a problem naming the path and why', () => {
    const dir = fresh();
    expect(readStackText(join(dir, '.env'))).toBeUndefined();
    expect(() => readStackText(dir)).toThrow(/cannot read .*: a directory/);
  });
});

describe('holdFile', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'pc-held-'));
  const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));

  it('reads the bytes it opened, twice and at once, after the name was deleted or another file renamed over it', async () => {
    const d = dir();
    const f = join(d, 'a.pcbak');
    writeFileSync(f, bytes);
    const held = holdFile(f);
    try {
      fs.unlinkSync(f); // a rotation that removed it
      writeFileSync(join(d, 'other'), 'another archive');
      fs.renameSync(join(d, 'other'), f); // and a new file with its name
      expect(held.size).toBe(bytes.length);
      expect(held.head(4)).toEqual(bytes.subarray(0, 4));
      // Two streams at once (small pieces, interleaved reads): each from the first byte to the last.
      const [one, two] = await Promise.all([buffer(held.stream(1024)), buffer(held.stream(4096))]);
      expect(one.equals(bytes)).toBe(true);
      expect(two.equals(bytes)).toBe(true);
      expect((await buffer(held.stream())).equals(bytes)).toBe(true);
      expect(readFileSync(f, 'utf8')).toBe('another archive');
      // A reader that gives up destroys its stream: the descriptor stays open for the next read.
      const cut = held.stream(1024);
      await new Promise<void>((res) => cut.once('data', () => res()));
      cut.destroy();
      await new Promise<void>((res) => cut.once('close', () => res()));
      expect((await buffer(held.stream())).equals(bytes)).toBe(true);
    } finally {
      held.close();
    }
    held.close(); // twice is harmless
  });

  it('refuses what is not a regular file (a FIFO is opened without blocking), a usage error', () => {
    const fifo = join(dir(), 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expect(() => holdFile(fifo, (st) => refuseNonBackup(fifo, st))).toThrowError(expect.objectContaining({ kind: 'usage', message: `${fifo} is a named pipe (FIFO), not a backup file (a backup is a regular file)` }));
    expect(() => holdFile(fifo)).toThrowError(expect.objectContaining({ kind: 'usage', message: `${fifo} is a named pipe (FIFO), not a regular file` }));
  });

  it('withHeldFile closes the descriptor whatever the work did', async () => {
    const f = join(dir(), 'x');
    writeFileSync(f, 'x');
    const open = () => readdirSync('/proc/self/fd').length;
    const before = open();
    await expect(withHeldFile(f, async () => {
      expect(open()).toBe(before + 1);
      throw new Error('failed midway');
    })).rejects.toThrow('failed midway');
    expect(open()).toBe(before);
  });
});
