// The launcher's V8 code cache (issue #11, item 2): a cache another user could have written is never
// read. The built launcher runs from a copy of dist/ with TMPDIR pointing at a private temp dir.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dist = join(import.meta.dirname, '../../../dist');
const { trustworthy } = createRequire(import.meta.url)('../../../scripts/cli-loader.cjs') as {
  trustworthy: (st: Pick<Stats, 'uid' | 'mode' | 'isFile' | 'isDirectory'>, owners: number[], isDir: boolean) => boolean;
};
const me = process.getuid!();
const other = me === 0 ? 12345 : 0;
const asRoot = me === 0;

/** A copy of the built CLI and an empty TMPDIR; `run` runs `--version` there and returns the exit code. */
function sandbox() {
  const root = mkdtempSync(join(tmpdir(), 'pc-launcher-'));
  const pkg = join(root, 'pkg');
  const tmp = join(root, 'tmp');
  mkdirSync(pkg);
  mkdirSync(tmp);
  for (const f of ['cli.js', 'cli.cjs', 'package.json']) copyFileSync(join(dist, f), join(pkg, f));
  const run = () => spawnSync(process.execPath, [join(pkg, 'cli.js'), '--version'], { env: { ...process.env, TMPDIR: tmp }, encoding: 'utf8' });
  const localCache = () => {
    const c = readdirSync(pkg).filter((f) => /^\.cli-none-.*\.cache$/.test(f));
    expect(c).toHaveLength(1);
    return join(pkg, c[0]!);
  };
  const privateDir = join(tmp, `phase-compose-${me}`);
  return { root, pkg, tmp, run, localCache, privateDir, done: () => rmSync(root, { recursive: true, force: true }) };
}
const ino = (p: string) => lstatSync(p).ino;

describe('launcher code cache', () => {
  const st = (mode: number, uid: number, kind: 'file' | 'dir' | 'link' = 'file') => ({
    mode, uid, isFile: () => kind === 'file', isDirectory: () => kind === 'dir',
  });

  it('trusts only a regular file or 0700 directory owned by an allowed uid, without group/other write', () => {
    expect(trustworthy(st(0o644, 1000), [1000], false)).toBe(true);
    expect(trustworthy(st(0o600, 0), [1000, 0], false)).toBe(true); // the bundle's owner (root, global install)
    expect(trustworthy(st(0o644, 1001), [1000], false)).toBe(false); // another user's file
    expect(trustworthy(st(0o664, 1000), [1000], false)).toBe(false); // group-writable
    expect(trustworthy(st(0o646, 1000), [1000], false)).toBe(false); // world-writable
    expect(trustworthy(st(0o644, 1000, 'link'), [1000], false)).toBe(false);
    expect(trustworthy(st(0o644, 1000, 'dir'), [1000], false)).toBe(false);
    expect(trustworthy(st(0o700, 1000, 'dir'), [1000], true)).toBe(true);
    expect(trustworthy(st(0o755, 1000, 'dir'), [1000], true)).toBe(false); // readable by others: not private
    expect(trustworthy(st(0o1777, 1000, 'dir'), [1000], true)).toBe(false);
    expect(trustworthy(st(0o700, 1001, 'dir'), [1000], true)).toBe(false);
  });

  it('beside the bundle: its own cache is reused; a writable-by-others, foreign or symlinked one is never read, and replaced', () => {
    const s = sandbox();
    try {
      expect(s.run().status).toBe(0);
      const c = s.localCache();
      const valid = readFileSync(c);
      const first = ino(c);
      expect(s.run().status).toBe(0);
      expect(ino(c)).toBe(first); // read and accepted: not rewritten (so a replaced file means "not read")

      chmodSync(c, 0o666);
      expect(s.run().status).toBe(0);
      expect(ino(c)).not.toBe(first);
      expect(lstatSync(c).mode & 0o777).toBe(0o644);

      if (asRoot) {
        chownSync(c, other, other);
        const planted = ino(c);
        expect(s.run().status).toBe(0);
        expect(ino(c)).not.toBe(planted);
        expect(lstatSync(c).uid).toBe(me);
      }

      const target = join(s.root, 'planted');
      writeFileSync(target, valid);
      rmSync(c);
      symlinkSync(target, c);
      expect(s.run().status).toBe(0);
      expect(lstatSync(c).isFile()).toBe(true); // the symlink was not followed: replaced by our own file
      expect(readFileSync(target)).toEqual(valid);
      expect(readdirSync(s.pkg).filter((f) => /\.\d+$/.test(f))).toEqual([]); // no temporary file left
    } finally {
      s.done();
    }
  }, 60_000);

  it('in the temp dir: only a private 0700 directory of ours; never read from or written to another', () => {
    const s = sandbox();
    try {
      // Make the package folder unusable for the cache (as in a read-only or global install).
      expect(s.run().status).toBe(0);
      const c = s.localCache();
      rmSync(c);
      mkdirSync(c);
      writeFileSync(join(c, 'keep'), '');

      expect(s.run().status).toBe(0);
      expect(lstatSync(s.privateDir).mode & 0o777).toBe(0o700);
      const files = readdirSync(s.privateDir);
      expect(files).toHaveLength(1);
      const p = join(s.privateDir, files[0]!);
      expect(lstatSync(p).mode & 0o777).toBe(0o600);
      const first = ino(p);
      expect(s.run().status).toBe(0);
      expect(ino(p)).toBe(first); // our own cache is used

      chmodSync(p, 0o666); // a file in it that others could have written: not read, replaced
      expect(s.run().status).toBe(0);
      expect(ino(p)).not.toBe(first);

      // A directory someone else made (or that others can write): neither read nor written.
      chmodSync(s.privateDir, 0o777);
      const planted = ino(p);
      chmodSync(p, 0o600);
      expect(s.run().status).toBe(0);
      expect(readdirSync(s.privateDir)).toEqual(files);
      expect(ino(p)).toBe(planted);
      expect(lstatSync(s.privateDir).mode & 0o777).toBe(0o777);
      if (asRoot) {
        chmodSync(s.privateDir, 0o700);
        chownSync(s.privateDir, other, other);
        expect(s.run().status).toBe(0);
        expect(readdirSync(s.privateDir)).toEqual(files);
      }
      expect(readdirSync(s.tmp)).toEqual([`phase-compose-${me}`]);
    } finally {
      s.done();
    }
  }, 60_000);
});
