#!/usr/bin/env node
// phase-compose launcher. Node 20 has no built-in compile cache (module.enableCompileCache is 22.1+),
// so this runs the bundled CLI (cli.cjs) through vm.Script with V8 code cache: the first run stores
// the compiled code, later runs skip most of the parse and compile. The cache is an optimisation only:
// V8 rejects a stale or foreign one, and any failure to read or write it is ignored.
// The Docker-side packages (dockerode, execa) are a second bundle (vendor.cjs), run the same way the
// first time a command imports one of them.
// CommonJS on purpose: an ES module launcher would start Node's ESM loader, a few ms that `generate` feels.
'use strict';
const { readFileSync, writeFileSync, renameSync, statSync } = require('node:fs');
const { createRequire } = require('node:module');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Script } = require('node:vm');

const dir = __dirname;
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
  const stamp = `${name}-${key}-${statSync(file).mtimeMs}-${process.versions.v8}`.replace(/[^0-9a-z.-]/gi, '');
  const caches = [join(dir, `.${stamp}.cache`), join(tmpdir(), `phase-compose-${process.getuid?.() ?? 'u'}-${stamp}.cache`)];
  let cachedData;
  for (const c of caches) {
    try {
      cachedData = readFileSync(c);
      break;
    } catch {
      /* none yet */
    }
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname, __pcImport) {${source}\n})`, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  if (!cachedData || script.cachedDataRejected) {
    // After the command ran, so the functions it compiled lazily are in the cache too.
    process.once('exit', () => {
      const data = script.createCachedData();
      for (const c of caches) {
        try {
          const tmp = `${c}.${process.pid}`;
          writeFileSync(tmp, data);
          renameSync(tmp, c);
          return;
        } catch {
          /* not writable: try the next place */
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
const importer = (specifier) => {
  if (specifier === 'dockerode' || specifier === 'execa') {
    try {
      vendor ??= runBundle('vendor', importer);
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve(specifier === 'dockerode' ? { default: vendor.dockerode } : vendor.execa);
  }
  return import(specifier);
};
runBundle('cli', importer);
