// The files phase-compose generates for a stack (compose file, proxy config): rendered from the spec,
// compared with the disk, checked and written. `generate`, `init` and `up` (after it holds the lock)
// all render here; `generate` and `up` write here. Opening a stack (./open.ts) never writes.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, posix, relative, resolve } from 'node:path';
import { renderOutputs } from '../model/outputs.js';
import { specEnvFiles } from '../spec/env-files.js';
import { writeGeneratedFiles, type GeneratedFile, type GeneratedWriteOptions } from '../util/generated-files.js';
import type { Stack } from './open.js';

type Source = Pick<Stack, 'spec' | 'specFile' | 'specDir'>;
const posixPath = (p: string) => p.split('\\').join('/');

/**
 * Renders every generated file of the stack, paths absolute. `output` (`-o`, relative to the current
 * directory) replaces the spec's compose path and is the user's explicit choice: it may lie outside
 * the spec's directory.
 */
export function renderStackFiles(s: Source, output?: string): { files: GeneratedFile[]; warnings: string[] } {
  const out = output === undefined ? undefined : posixPath(relative(s.specDir, resolve(output)));
  const rendered = renderOutputs(s.spec, basename(s.specFile), out, posixPath(s.specDir));
  const files = rendered.files.map((f) => ({
    path: join(s.specDir, f.path),
    content: f.content,
    ...(out !== undefined && f.path === posix.normalize(out) ? { explicit: true } : {}),
  }));
  return { files, warnings: rendered.warnings };
}

/** The files whose bytes on disk differ from `files` (missing ones included), with what is on disk. */
export function staleFiles(files: readonly GeneratedFile[]): Array<GeneratedFile & { current?: string }> {
  return files
    .map((f) => ({ ...f, current: existsSync(f.path) ? readFileSync(f.path, 'utf8') : undefined }))
    .filter((f) => f.current !== f.content);
}

/**
 * Checks and writes rendered files (nothing is written when one is refused; a file phase-compose did
 * not write is never replaced without `force`). Returns, per file written, its path and any backup.
 */
export function writeStackFiles(
  s: Pick<Stack, 'spec' | 'specFile'>,
  files: readonly GeneratedFile[],
  opts: Pick<GeneratedWriteOptions, 'force' | 'allowOutside'> = {},
): Array<{ path: string; backup?: string }> {
  return writeGeneratedFiles(files, { specFile: s.specFile, protect: specEnvFiles(s.spec), ...opts });
}

/**
 * What `up` and `migrate` do once they hold the lock: write the generated files that are missing or
 * out of date with the spec, like `generate` without --force. Returns the paths written.
 */
export function syncStackFiles(s: Source): string[] {
  return writeStackFiles(s, staleFiles(renderStackFiles(s).files)).map((w) => w.path);
}
