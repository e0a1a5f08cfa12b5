// Rewrites ajv's schema errors in plain words: one problem per place, the most specific one kept.
import type { Problem } from '../util/errors.js';

/** The subset of ajv's ErrorObject we read (kept structural so the precompiled validator needs no ajv types). */
export type SchemaError = {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
};

type JsonSchema = Record<string, unknown>;

/** Splits an ajv instancePath (`/services/backend/ports/0`) into keys. */
export function pointerToPath(pointer: string): Array<string | number> {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** `['services','backend','ports',0]` → `services.backend.ports[0]`. */
export function dottedPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : out ? `.${k}` : k;
  return out;
}

function resolveSchemaPath(schema: JsonSchema, schemaPath: string): JsonSchema | undefined {
  let node: unknown = schema;
  for (const seg of schemaPath.replace(/^#\/?/, '').split('/').filter(Boolean)) {
    if (node && typeof node === 'object') node = (node as Record<string, unknown>)[seg];
    else return undefined;
    if (node && typeof node === 'object' && '$ref' in (node as object) && Object.keys(node as object).length === 1) {
      node = resolveSchemaPath(schema, String((node as { $ref: string }).$ref));
    }
  }
  return node as JsonSchema | undefined;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${JSON.stringify(v)}`;
}

function valueAt(data: unknown, path: ReadonlyArray<string | number>): unknown {
  let node = data;
  for (const k of path) {
    if (node && typeof node === 'object') node = (node as Record<string | number, unknown>)[k];
    else return undefined;
  }
  return node;
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** The closest candidate within a small edit distance, if any. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

const typeWords: Record<string, string> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a map',
};

function one(e: SchemaError, data: unknown, schema: JsonSchema): Omit<Problem, 'severity'> | undefined {
  const path = pointerToPath(e.instancePath);
  const value = valueAt(data, path);
  const parent = resolveSchemaPath(schema, e.schemaPath.replace(/\/[^/]+$/, ''));
  const description = typeof parent?.description === 'string' ? parent.description : undefined;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const allowed = Object.keys((parent?.properties as object | undefined) ?? {}).filter((k) => k !== '$schema');
      const guess = closest(key, allowed);
      return {
        path: dottedPath([...path, key]),
        message: `unknown key "${key}"`,
        hint: guess ? `did you mean "${guess}"? (allowed: ${allowed.join(', ')})` : `allowed keys here: ${allowed.join(', ')}`,
      };
    }
    case 'required':
      return {
        path: dottedPath(path),
        message: `missing required key "${String(e.params.missingProperty)}"`,
        hint: `add "${String(e.params.missingProperty)}:" here`,
      };
    case 'type': {
      const want = String(e.params.type).split(',').map((t) => typeWords[t] ?? t).join(' or ');
      return { path: dottedPath(path), message: `expected ${want}, got ${describeValue(value)}` };
    }
    case 'enum':
    case 'const': {
      const allowed = (e.params.allowedValues as unknown[] | undefined) ?? [e.params.allowedValue];
      const guess = typeof value === 'string' ? closest(value, allowed.map(String)) : undefined;
      return {
        path: dottedPath(path),
        message: `${describeValue(value)} is not allowed`,
        hint: `use one of: ${allowed.map((a) => JSON.stringify(a)).join(', ')}${guess ? ` (did you mean ${JSON.stringify(guess)}?)` : ''}`,
      };
    }
    case 'pattern':
    case 'format': {
      const field = resolveSchemaPath(schema, e.schemaPath.replace(/\/(pattern|format)$/, ''));
      const desc = typeof field?.description === 'string' ? field.description : description;
      return {
        path: dottedPath(path),
        message: `${describeValue(value)} is not a valid value here`,
        hint: desc ?? `it must match ${String(e.params.pattern ?? e.params.format)}`,
      };
    }
    case 'minimum':
    case 'maximum':
      return { path: dottedPath(path), message: `${describeValue(value)} must be ${e.keyword === 'minimum' ? '>=' : '<='} ${String(e.params.limit)}` };
    case 'minItems':
      return { path: dottedPath(path), message: `needs at least ${String(e.params.limit)} item${e.params.limit === 1 ? '' : 's'}` };
    case 'minProperties':
      return { path: dottedPath(path), message: `needs at least ${String(e.params.limit)} entr${e.params.limit === 1 ? 'y' : 'ies'}` };
    case 'minLength':
      return { path: dottedPath(path), message: 'must not be empty' };
    case 'uniqueItems':
      return { path: dottedPath(path), message: `has duplicate items (items ${String(e.params.j)} and ${String(e.params.i)})` };
    case 'propertyNames':
      return undefined; // the pattern error on the name itself says it better
    case 'oneOf':
    case 'anyOf':
      return { path: dottedPath(path), message: `${describeValue(value)} does not fit any allowed form`, hint: description };
    default:
      return { path: dottedPath(path), message: e.message ?? `fails "${e.keyword}"` };
  }
}

/**
 * Turns ajv errors into problems. Errors under a `oneOf` are noisy (one per branch): where a branch
 * produced errors deeper than the `oneOf` itself, those are kept; type mismatches of the branches at
 * the oneOf's own place merge into one "expected X or Y".
 */
export function schemaProblems(errors: readonly SchemaError[], data: unknown, schema: JsonSchema): Problem[] {
  const byPath = new Map<string, SchemaError[]>();
  for (const e of errors) {
    const key = e.keyword === 'propertyNames' ? `${e.instancePath}/${String(e.params.propertyName)}` : e.instancePath;
    byPath.set(key, [...(byPath.get(key) ?? []), e]);
  }
  const problems: Problem[] = [];
  const paths = [...byPath.keys()];
  for (const [p, errs] of byPath) {
    const deeper = paths.some((q) => q !== p && q.startsWith(`${p}/`));
    let chosen = errs;
    const hasOneOf = errs.some((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
    if (hasOneOf) {
      // The oneOf's branches: errors whose schemaPath runs through it.
      if (deeper) continue;
      const types = errs.filter((e) => e.keyword === 'type');
      const nonType = errs.filter((e) => e.keyword !== 'type' && e.keyword !== 'oneOf' && e.keyword !== 'anyOf');
      const value = valueAt(data, pointerToPath(p));
      const valueType = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
      // Keep branch errors that speak about the value's own type (e.g. a string that fails its pattern).
      const relevant = nonType.filter((e) => {
        const branch = resolveSchemaPath(schema, e.schemaPath.replace(/\/[^/]+$/, ''));
        const t = branch?.type;
        return t === valueType || (t === 'integer' && valueType === 'number') || (t === 'object' && valueType === 'object');
      });
      if (relevant.length) chosen = relevant;
      else if (types.length === errs.length - 1 || nonType.length === 0) {
        const want = [...new Set(types.map((e) => String(e.params.type)))];
        problems.push({
          severity: 'error',
          path: dottedPath(pointerToPath(p)),
          message: `expected ${want.map((t) => typeWords[t] ?? t).join(' or ')}, got ${describeValue(value)}`,
        });
        continue;
      } else chosen = errs.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
    }
    const seen = new Set<string>();
    for (const e of chosen) {
      const prob = one(e, data, schema);
      if (!prob) continue;
      const k = `${prob.path}|${prob.message}`;
      if (seen.has(k)) continue;
      seen.add(k);
      problems.push({ severity: 'error', ...prob });
    }
  }
  return problems;
}
