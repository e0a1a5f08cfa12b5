#!/usr/bin/env node
// phase-compose launcher. Node 20 has no built-in compile cache (module.enableCompileCache is 22.1+),
// so this runs the bundled CLI (cli.cjs) through vm.Script with V8 code cache: the first run stores
// the compiled code, later runs skip most of the parse and compile. The cache is an optimisation only:
// V8 rejects a stale or foreign one, and any failure to read or write it is ignored.
// The Docker-side packages (dockerode, execa) are a second bundle (vendor.cjs), run the same way the
// first time a command imports one of them.
// Code cache is code: only a cache nobody else could have written is read. It lives beside the bundle
// (trusted when owned by us or by the bundle's owner) or, when the package folder is read-only, in a
// private per-user directory, <tmpdir>/phase-compose-<uid> (mode 0700, ours). Both are opened without
// following symlinks and checked (owner, no group/other write) before a byte is read; anything else
// is ignored, never read, and the private directory is never written when it fails the check.
// CommonJS on purpose: an ES module launcher would start Node's ESM loader, a few ms that `generate` feels.
'use strict';
const { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Script } = require('node:vm');

const dir = __dirname;
const uid = process.getuid?.();

/**
 * Whether a cache file (or the private directory) may be trusted, from its lstat/fstat: the right kind
 * and no symlink, owned by one of `owners`, not writable by group or others; the directory exactly 0700.
 * Without uids (Windows) only the kind is checked.
 */
function trustworthy(st, owners, isDir) {
  if (isDir ? !st.isDirectory() : !st.isFile()) return false;
  if (owners.length === 0) return true;
  return owners.includes(st.uid) && (st.mode & 0o022) === 0 && (!isDir || (st.mode & 0o777) === 0o700);
}

/** The private per-user cache directory, when it exists (or, with `create`, can be made) and passes the check. */
function privateDir(create) {
  if (uid === undefined) return undefined;
  const d = join(tmpdir(), `phase-compose-${uid}`);
  try {
    if (create) mkdirSync(d, { mode: 0o700 });
  } catch {
    /* exists already, or cannot be made: the check below decides */
  }
  try {
    return trustworthy(lstatSync(d), [uid], true) ? d : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a cache file unless it fails the check; opened without following a symlink, checked on the open file. */
function readTrusted(path, owners) {
  let fd;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    return trustworthy(fstatSync(fd), owners, false) ? readFileSync(fd) : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

// One cache per subcommand: each compiles different functions on its path. Skip the values of the
// global options, so `-p prod up` is keyed `up`, not `prod`.
const takesValue = new Set(['-f', '--file', '-p', '--project-name']);
const args = process.argv.slice(2);
const command = args.find((a, i) => !a.startsWith('-') && !takesValue.has(args[i - 1] ?? '')) ?? 'none';
const key = /^[a-z-]{1,24}$/.test(command) ? command : 'other';

/** Runs a CommonJS bundle of dist/ through vm.Script with a code cache; returns its module.exports. */
function runBundle(name, importer) {
  const file = join(dir, `${name}.cjs`);
  const source = readFileSync(file, 'utf8');
  const bundle = statSync(file);
  const stamp = `${name}-${key}-${bundle.mtimeMs}-${process.versions.v8}`.replace(/[^0-9a-z.-]/gi, '');
  const owners = uid === undefined ? [] : [...new Set([uid, bundle.uid])];
  const local = join(dir, `.${stamp}.cache`);
  const privateName = `${stamp}.cache`;
  let cachedData = readTrusted(local, owners);
  if (!cachedData) {
    const d = privateDir(false);
    if (d) cachedData = readTrusted(join(d, privateName), uid === undefined ? [] : [uid]);
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname, __pcImport) {${source}\n})`, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  if (!cachedData || script.cachedDataRejected) {
    // After the command ran, so the functions it compiled lazily are in the cache too. A new file
    // (never through an existing name or symlink), renamed over the old one.
    process.once('exit', () => {
      const data = script.createCachedData();
      const places = [() => [local, 0o644], () => { const d = privateDir(true); return d && [join(d, privateName), 0o600]; }];
      for (const place of places) {
        const [c, mode] = place() || [];
        if (!c) continue;
        const tmp = `${c}.${process.pid}`;
        let made = false;
        try {
          writeFileSync(tmp, data, { mode, flag: 'wx' });
          made = true;
          renameSync(tmp, c);
          return;
        } catch {
          if (made) rmSync(tmp, { force: true }); // not writable: try the next place
        }
      }
    });
  }
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, createRequire(file), mod, file, dir, importer);
  return mod.exports;
}

// Code run by vm.Script has no module loader for import(): the bundle's dynamic imports come here.
let vendor;
// What import() of each package the vendor bundle holds gives, from that bundle's exports.
const fromVendor = new Map([
  ['dockerode', (v) => ({ default: v.dockerode })],
  ['execa', (v) => v.execa],
  ['signal-exit', (v) => v.signalExit],
]);
const importer = (specifier) => {
  const pick = fromVendor.get(specifier);
  if (pick) {
    try {
      vendor ??= runBundle('vendor', importer);
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve(pick(vendor));
  }
  return import(specifier);
};
// Required by a test (not run): hand over the checks instead of running the CLI.
if (require.main === module) runBundle('cli', importer);
else module.exports = { trustworthy };
