// Edge: reads a spec file from disk and runs the pure check pipeline with the precompiled validator.
import { PhaseComposeError, SpecError, type Problem } from '../util/errors.js';
import { displayPath, readOnDisk } from '../util/fs.js';
import { MAX_SPEC_BYTES, checkSpecText, oversizeProblem } from './check.js';
import validate from './generated/validate-spec.js';
import schema from '../../schema/phase-compose.schema.json' with { type: 'json' };
import type { NormalisedSpec } from './normalise.js';

export type LoadedSpec = { spec: NormalisedSpec; file: string; warnings: Problem[] };

/** Loads and checks a spec; throws SpecError (all problems) or PhaseComposeError (unreadable file, a usage error). */
export function loadSpec(file: string): LoadedSpec {
  // Only a regular file, and never more than the check reads (in UTF-8, up to 4 bytes a character): a
  // FIFO or device at the spec's path would block or never end, a huge file would fill the memory.
  const d = readOnDisk(file, MAX_SPEC_BYTES * 4);
  if (d.kind === 'missing') {
    throw new PhaseComposeError('usage', `no deployment spec at ${file}`, { details: ['create one with `phase-compose init`, or point to it with -f <file>'] });
  }
  if (d.kind === 'odd' && d.size === undefined) {
    throw new PhaseComposeError('usage', `cannot read ${file}: ${d.why}`, { details: ['a spec is a regular file: write it to one and point to it with -f <file>'] });
  }
  const shown = displayPath(file);
  if (d.kind === 'odd') throw new SpecError([oversizeProblem(d.size!, shown)]);
  const text = d.data.toString('utf8');
  const { spec, problems } = checkSpecText(text, shown, validate, schema as Record<string, unknown>);
  if (!spec) throw new SpecError(problems);
  return { spec, file, warnings: problems };
}
