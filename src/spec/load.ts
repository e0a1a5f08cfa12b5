// Edge: reads a spec file from disk and runs the pure check pipeline with the precompiled validator.
import { readFileSync } from 'node:fs';
import { PhaseComposeError, SpecError, type Problem } from '../util/errors.js';
import { displayPath } from '../util/fs.js';
import { checkSpecText } from './check.js';
import validate from './generated/validate-spec.js';
import schema from '../../schema/phase-compose.schema.json' with { type: 'json' };
import type { NormalisedSpec } from './normalise.js';

export type LoadedSpec = { spec: NormalisedSpec; file: string; warnings: Problem[] };

/** Loads and checks a spec; throws SpecError (all problems) or PhaseComposeError (unreadable file, a usage error). */
export function loadSpec(file: string): LoadedSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new PhaseComposeError('usage', code === 'ENOENT' ? `no deployment spec at ${file}` : `cannot read ${file}: ${(e as Error).message}`, {
      details: code === 'ENOENT' ? ['create one with `phase-compose init`, or point to it with -f <file>'] : [],
      cause: e,
    });
  }
  const shown = displayPath(file);
  const { spec, problems } = checkSpecText(text, shown, validate, schema as Record<string, unknown>);
  if (!spec) throw new SpecError(problems);
  return { spec, file, warnings: problems };
}
