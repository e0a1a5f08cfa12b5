// The files phase-compose generates for a stack (compose file, proxy config): rendered from the spec,
// compared with the disk, checked and written. `generate`, `init` and `up` (after it holds the lock)
// all render here; `generate` and `up` write here. Opening a stack (./open.ts) never writes.
import { basename, join, posix, relative, resolve } from 'node:path';
import { envValueAmbiguity, lastEnvEntries, parseEnvFile } from '../init/env-file.js';
import { renderKube } from '../kube/render.js';
import { renderOutputs } from '../model/outputs.js';
import { specEnvFiles } from '../spec/env-files.js';
import { PhaseComposeError } from '../util/errors.js';
import { TEXT_FILE_MAX_BYTES, displayPath, readOnDisk, readStackText } from '../util/fs.js';
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
    // resolve, not join: an absolute `output:` or `proxy.config:` is that path, as Compose reads it (joined,
    // it was written under the spec's directory, and nginx mounted another file).
    path: resolve(s.specDir, f.path),
    content: f.content,
    ...(out !== undefined && f.path === posix.normalize(out) ? { explicit: true } : {}),
  }));
  return { files, warnings: rendered.warnings };
}

/** Where `generate --target kubernetes` writes when no -o is given: beside the spec. */
export const DEFAULT_KUBE_DIR = 'kubernetes';

export type KubeRenderOptions = {
  /** `-o DIR` (relative to the current directory): the user's explicit choice. */
  dir?: string;
  kubeVersion?: string;
  namespace?: string;
  /** Also write the Secret, from the spec's env files, to a 0600 file. */
  withSecrets?: boolean;
};

/** The env files' values, later files winning (as Compose's env_file list); a missing file is a problem. */
function secretValues(s: Source): Record<string, string> {
  const out: Record<string, string> = {};
  const files = [...new Set(specEnvFiles(s.spec))];
  if (!files.length) throw new PhaseComposeError('usage', '--with-secrets: the spec names no env_file to take the Secret\'s values from');
  for (const f of files) {
    const path = resolve(s.specDir, f);
    const text = readStackText(path);
    if (text === undefined) {
      throw new PhaseComposeError('problem', `--with-secrets: ${displayPath(path)} does not exist`, { details: ['create it (phase-compose init writes one), or leave out --with-secrets and create the Secret yourself'] });
    }
    // The Secret must hold what Compose gives the containers: a value Compose reads otherwise than
    // dotenv (and the two Compose versions otherwise than each other) is refused, not guessed.
    const odd = lastEnvEntries(text).map((e) => [e.key, envValueAmbiguity(e)] as const).filter((x): x is readonly [string, string] => x[1] !== undefined);
    if (odd.length) {
      throw new PhaseComposeError('problem', `--with-secrets: ${displayPath(path)}: ${odd.map(([k]) => k).join(', ')} ${odd.length === 1 ? 'has a value' : 'have values'} Compose reads otherwise than as written`, {
        details: [...odd.map(([k, why]) => `${k}: ${why}`), "write each value in single quotes (K='value'), as Compose reads it literally, or leave out --with-secrets and create the Secret yourself"],
      });
    }
    Object.assign(out, parseEnvFile(text));
  }
  return Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]!]));
}

/** Renders the Kubernetes manifests of the stack, paths absolute. */
export function renderKubeStackFiles(s: Source, o: KubeRenderOptions = {}): { files: GeneratedFile[]; warnings: string[]; dir: string; secretName: string; namespace: string } {
  const dir = o.dir === undefined ? join(s.specDir, DEFAULT_KUBE_DIR) : resolve(o.dir);
  const specFromDir = posixPath(relative(dir, s.specFile));
  const r = renderKube(s.spec, specFromDir, {
    kubeVersion: o.kubeVersion,
    namespace: o.namespace,
    ...(o.withSecrets ? { secretValues: secretValues(s) } : {}),
  });
  const files = r.files.map((f) => ({
    path: join(dir, f.name),
    content: f.content,
    ...(o.dir !== undefined ? { explicit: true } : {}),
    ...(f.secret ? { mode: 0o600, secret: true } : {}),
  }));
  return { files, warnings: r.warnings, dir, secretName: r.secretName, namespace: r.namespace };
}

/**
 * The files whose bytes on disk differ from `files`, with what is on disk: `current` (its text), or
 * `odd` (why it was not read: a FIFO, a directory, a huge file), or neither when it is missing. Bounded
 * in time and memory whatever sits at those paths (see readOnDisk).
 */
export function staleFiles(files: readonly GeneratedFile[]): Array<GeneratedFile & { current?: string; odd?: string }> {
  return files.flatMap((f) => {
    const d = readOnDisk(f.path, TEXT_FILE_MAX_BYTES);
    if (d.kind === 'missing') return [{ ...f }];
    if (d.kind === 'odd') return [{ ...f, odd: d.why }];
    const current = d.data.toString('utf8');
    return current === f.content ? [] : [{ ...f, current }];
  });
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
