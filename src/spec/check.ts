// The spec pipeline as one pure function: parse YAML → schema → defaults filled → semantic rules → problems with positions.
import type { Problem } from '../util/errors.js';
import { parseYaml } from './parse.js';
import { resetSuggestionBudget, schemaProblems, type SchemaError } from './schema-errors.js';
import { semanticProblems } from './semantic.js';
import { normaliseSpec, type NormalisedSpec } from './normalise.js';
import type { DeploymentSpec } from './types.js';

export type Validator = ((data: unknown) => boolean) & { errors?: SchemaError[] | null };

export type CheckResult = { spec?: NormalisedSpec; problems: Problem[] };

const byPosition = (a: Problem, b: Problem) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0);

/**
 * The largest spec read. Real specs are a few KB. Parsing and checking take about 1.1 s for a worst-case
 * 128 KiB spec (thousands of services) on this project's 2-core machine, so 64 KiB is what keeps
 * `validate` under 1 s on any input; a larger file is refused at once (bench/validate.mjs).
 */
export const MAX_SPEC_BYTES = 64 * 1024;

/** A spec over MAX_SPEC_BYTES (`size` in characters, or in bytes when it was not even read). */
export function oversizeProblem(size: number, file: string): Problem {
  return { severity: 'error', path: '', message: `the spec is ${Math.ceil(size / 1024)} KiB; at most ${MAX_SPEC_BYTES / 1024} KiB is read`, hint: 'a deployment spec is a few KB: check that -f names the right file', file, line: 1, col: 1 };
}

/** Checks spec text; returns the typed spec when there are no errors, and every problem found. */
export function checkSpecText(text: string, file: string, validate: Validator, schema: Record<string, unknown>): CheckResult {
  if (text.length > MAX_SPEC_BYTES) return { problems: [oversizeProblem(text.length, file)] };
  resetSuggestionBudget();
  const parsed = parseYaml(text, file);
  if (parsed.problems.length) return { problems: parsed.problems };
  const at = (keys: Array<string | number>) => ({ file, ...(parsed.locate(keys) ?? {}) });
  if (parsed.data === null || parsed.data === undefined) {
    return { problems: [{ severity: 'error', path: '', message: 'the spec is empty (no YAML content, only comments or blank lines)', hint: 'start from `phase-compose init`, or write at least name: <project> and services: with one service and its image', file, line: 1, col: 1 }] };
  }
  if (typeof parsed.data !== 'object' || Array.isArray(parsed.data)) {
    return { problems: [{ severity: 'error', path: '', message: 'the spec must be a YAML map (name:, services:, ...)', hint: 'write the spec as top-level keys: name: <project>, services: <map of services>, ...', file, line: 1, col: 1 }] };
  }
  if (!validate(parsed.data)) {
    const problems = schemaProblems(validate.errors ?? [], parsed.data, schema).map((p) => ({
      ...p,
      ...at(p.path.split(/\.|\[(\d+)\]/).filter(Boolean).map((s) => (/^\d+$/.test(s) ? Number(s) : s))),
    }));
    return { problems: problems.sort(byPosition) };
  }
  const spec = normaliseSpec(parsed.data as DeploymentSpec);
  const problems: Problem[] = semanticProblems(spec).map((r) => ({
    severity: r.severity,
    path: r.keys.map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${k}` : k)).join(''),
    message: r.message,
    hint: r.hint,
    ...at(r.keys),
  }));
  problems.sort(byPosition);
  return { spec: problems.some((p) => p.severity === 'error') ? undefined : spec, problems };
}
