// `phase-compose generate`: spec → compose file (and proxy config), written atomically; `--check` for CI.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, posix, relative, resolve } from 'node:path';
import { renderOutputs } from '../../model/outputs.js';
import { loadSpec } from '../../spec/load.js';
import { formatProblem } from '../../util/errors.js';
import { displayPath } from '../../util/fs.js';
import { writeGeneratedFiles } from '../../util/generated-files.js';
import { specEnvFiles } from '../../spec/env-files.js';
import type { Io } from '../io.js';
import { OK, reported, type Outcome } from '../outcome.js';

export type GenerateArgs = {
  file: string;
  /** `-o`: named on the command line, so it may point outside the spec's directory. */
  output?: string;
  check?: boolean;
  quiet?: boolean;
  /** Replace files phase-compose did not write (each kept as a .bak). */
  force?: boolean;
  /** Let the spec's `output:` and `proxy.config:` point outside its directory. */
  allowOutside?: boolean;
};

/** Runs generate; `--check` reports stale files itself (a problem). */
export async function runGenerate(args: GenerateArgs, io: Io): Promise<Outcome> {
  const specFile = resolve(args.file);
  const { spec, warnings } = loadSpec(specFile);
  for (const w of warnings) io.err(formatProblem(w));
  const specDir = dirname(specFile);
  const output = args.output ? relative(specDir, resolve(args.output)).split('\\').join('/') : undefined;
  const rendered = renderOutputs(spec, basename(specFile), output, specDir.split('\\').join('/'));
  for (const w of rendered.warnings) io.err(`warning: ${w}`);
  const shown = (p: string) => displayPath(join(specDir, p));

  if (args.check) {
    let stale = 0;
    const { createTwoFilesPatch } = await import('diff');
    for (const f of rendered.files) {
      const path = join(specDir, f.path);
      const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
      if (current === f.content) continue;
      stale++;
      if (current === undefined) io.out(`${shown(f.path)}: missing (run \`phase-compose generate\`)`);
      else io.out(createTwoFilesPatch(`${shown(f.path)} (on disk)`, `${shown(f.path)} (from spec)`, current, f.content, '', '', { context: 3 }).trimEnd());
    }
    if (stale) {
      io.err(`${stale} generated file${stale === 1 ? ' is' : 's are'} out of date with ${shown(basename(specFile))}; run \`phase-compose generate\``);
      return reported('problem');
    }
    if (!args.quiet) io.out(`up to date: ${rendered.files.map((f) => shown(f.path)).join(', ')}`);
    return OK;
  }

  // The compose file named with -o is the user's explicit choice; the spec's own paths are bounded.
  const files = rendered.files.map((f) => ({ path: join(specDir, f.path), content: f.content, explicit: output !== undefined && f.path === posix.normalize(output) }));
  const written = writeGeneratedFiles(files, { specFile, protect: specEnvFiles(spec), force: args.force, allowOutside: args.allowOutside });
  if (!args.quiet) for (const w of written) io.out(`wrote ${displayPath(w.path)}${w.backup ? ` (previous kept as ${displayPath(w.backup)})` : ''}`);
  return OK;
}
