// `phase-compose generate`: spec → compose file (and proxy config), written atomically; `--check` for CI.
import { dirname, resolve } from 'node:path';
import { loadSpec } from '../../spec/load.js';
import { renderStackFiles, staleFiles, writeStackFiles } from '../../stack/outputs.js';
import { formatProblem } from '../../util/errors.js';
import { displayPath } from '../../util/fs.js';
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
  const source = { spec, specFile, specDir: dirname(specFile) };
  // The compose file named with -o is the user's explicit choice; the spec's own paths are bounded.
  const rendered = renderStackFiles(source, args.output || undefined);
  for (const w of rendered.warnings) io.err(`warning: ${w}`);

  if (args.check) {
    const stale = staleFiles(rendered.files);
    const { createTwoFilesPatch } = await import('diff');
    for (const f of stale) {
      const shown = displayPath(f.path);
      if (f.current === undefined) io.out(`${shown}: missing (run \`phase-compose generate\`)`);
      else io.out(createTwoFilesPatch(`${shown} (on disk)`, `${shown} (from spec)`, f.current, f.content, '', '', { context: 3 }).trimEnd());
    }
    if (stale.length) {
      io.err(`${stale.length} generated file${stale.length === 1 ? ' is' : 's are'} out of date with ${displayPath(specFile)}; run \`phase-compose generate\``);
      return reported('problem');
    }
    if (!args.quiet) io.out(`up to date: ${rendered.files.map((f) => displayPath(f.path)).join(', ')}`);
    return OK;
  }

  const written = writeStackFiles(source, rendered.files, { force: args.force, allowOutside: args.allowOutside });
  if (!args.quiet) for (const w of written) io.out(`wrote ${displayPath(w.path)}${w.backup ? ` (previous kept as ${displayPath(w.backup)})` : ''}`);
  return OK;
}
