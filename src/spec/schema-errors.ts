// Rewrites ajv's schema errors in plain words: one problem per place, the most specific one kept.
import type { Problem } from '../util/errors.js';

/** The subset of ajv's ErrorObject we read (kept structural so the precompiled validator needs no ajv types). */
export type SchemaError = {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
  /** Set on errors about a map key (propertyNames): the key itself. */
  propertyName?: string;
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

function deref(schema: JsonSchema, node: unknown): JsonSchema | undefined {
  let n = node as JsonSchema | undefined;
  for (let i = 0; n && typeof n.$ref === 'string' && i < 10; i++) n = resolveSchemaPath(schema, n.$ref);
  return n;
}

/**
 * The sub-schema that applies at an instance path, found by walking the data along it (ajv's
 * schemaPath is relative to the referenced definition, so it cannot be used from the root).
 */
export function schemaAt(schema: JsonSchema, path: ReadonlyArray<string | number>, data: unknown, branch = true): JsonSchema | undefined {
  let node = deref(schema, schema);
  let value = data;
  for (const key of path) {
    if (!node) return undefined;
    const branches = (node.oneOf ?? node.anyOf) as JsonSchema[] | undefined;
    if (branches) node = pickBranch(schema, branches, value);
    if (!node) return undefined;
    const props = node.properties as Record<string, unknown> | undefined;
    if (typeof key === 'string' && props?.[key]) node = deref(schema, props[key]);
    else if (typeof key === 'string' && node.additionalProperties && typeof node.additionalProperties === 'object') node = deref(schema, node.additionalProperties);
    else if (typeof key === 'number' && node.items) node = deref(schema, node.items);
    else return undefined;
    value = value && typeof value === 'object' ? (value as Record<string | number, unknown>)[key] : undefined;
  }
  const branches = branch && node && ((node.oneOf ?? node.anyOf) as JsonSchema[] | undefined);
  return branches ? (pickBranch(schema, branches, value) ?? node) : node;
}

function pickBranch(schema: JsonSchema, branches: JsonSchema[], value: unknown): JsonSchema | undefined {
  const t = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  const resolved = branches.map((b) => deref(schema, b)).filter((b): b is JsonSchema => !!b);
  const byType = resolved.filter((b) => b.type === t || (b.type === 'integer' && t === 'number'));
  if (byType.length <= 1) return byType[0];
  // Several object branches (e.g. client_ip modes): pick by a matching `const`.
  const v = value as Record<string, unknown>;
  return byType.find((b) => Object.entries((b.properties ?? {}) as Record<string, JsonSchema>).some(([k, ps]) => ps.const !== undefined && v?.[k] === ps.const)) ?? byType[0];
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

/** Levenshtein distance, for "did you mean" suggestions. Hand-written, not `leven`: the suggestion budget below counts its cells. */
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

/** Edit-distance work (cells) one spec check may spend on "did you mean" suggestions: keeps huge specs fast. */
export const SUGGESTION_BUDGET = 4_000_000;
const budget = { left: SUGGESTION_BUDGET };
/** Starts a new suggestion budget (called once per spec check). */
export function resetSuggestionBudget(): void {
  budget.left = SUGGESTION_BUDGET;
}

/** The closest candidate within a small edit distance, if any (none once the suggestion budget is spent). */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(2, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (Math.abs(c.length - word.length) > limit) continue;
    budget.left -= (word.length + 1) * (c.length + 1);
    if (budget.left < 0) return undefined;
    const d = editDistance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= limit ? best : undefined;
}

/** A list for a hint, shortened after `max` items. */
export function listSome(items: readonly string[], max = 12): string {
  return items.length > max ? `${items.slice(0, max).join(', ')}, ... (${items.length - max} more)` : items.join(', ');
}

const typeWords: Record<string, string> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a map',
};

/** A hint for a value of the wrong type: what to write instead. */
function typeHint(want: string[], value: unknown, description: string | undefined): string {
  if (value === null) return `nothing follows the colon, so the value is null: write ${want.map((t) => typeWords[t] ?? t).join(' or ')} there, or remove the key`;
  if (want.includes('array') && typeof value === 'string') {
    return `write a list, one element per argument: [${value.trim().split(/\s+/).slice(0, 6).map((w) => JSON.stringify(w)).join(', ')}] (no shell splits it)`;
  }
  const example: Record<string, string> = { string: 'a quoted string, e.g. "8000"', integer: 'a whole number without quotes, e.g. 3', number: 'a number, e.g. 1.5', boolean: 'true or false, without quotes', array: 'a list: [a, b] or one "- item" per line', object: 'a map: key: value lines indented under this key' };
  return [`write ${want.map((t) => example[t] ?? t).join(', or ')}`, description].filter(Boolean).join('. ');
}

function one(e: SchemaError, data: unknown, schema: JsonSchema): Omit<Problem, 'severity'> | undefined {
  if (e.propertyName !== undefined && e.keyword !== 'propertyNames') {
    // A map key that breaks the rules for names: reported at the key itself.
    const where = [...pointerToPath(e.instancePath), e.propertyName];
    return { path: dottedPath(where), message: `${JSON.stringify(e.propertyName)} is not a valid name here`, hint: e.params.pattern ? `use lower-case letters, digits, - and _, starting with a letter or digit (${String(e.params.pattern)})` : e.message };
  }
  const path = pointerToPath(e.instancePath);
  const value = valueAt(data, path);
  const here = schemaAt(schema, path, data);
  const holder = schemaAt(schema, path, data, false);
  const description = [here?.description, holder?.description].find((d): d is string => typeof d === 'string');
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const allowed = Object.keys((here?.properties as object | undefined) ?? {}).filter((k) => k !== '$schema');
      const guess = closest(key, allowed);
      return {
        path: dottedPath([...path, key]),
        message: `unknown key "${key}"`,
        hint: guess ? `did you mean "${guess}"? (allowed: ${listSome(allowed, 20)})` : `allowed keys here: ${listSome(allowed, 20)}`,
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
      return { path: dottedPath(path), message: `expected ${want}, got ${describeValue(value)}`, hint: typeHint(String(e.params.type).split(','), value, description) };
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
      return {
        path: dottedPath(path),
        message: `${describeValue(value)} is not a valid value here`,
        hint: description ?? `it must match ${String(e.params.pattern ?? e.params.format)}`,
      };
    }
    case 'minimum':
    case 'maximum':
      return { path: dottedPath(path), message: `${describeValue(value)} must be ${e.keyword === 'minimum' ? '>=' : '<='} ${String(e.params.limit)}`, hint: description ?? `use a value ${e.keyword === 'minimum' ? 'of at least' : 'of at most'} ${String(e.params.limit)}` };
    case 'minItems':
      return { path: dottedPath(path), message: `needs at least ${String(e.params.limit)} item${e.params.limit === 1 ? '' : 's'}`, hint: 'add an item, or remove the key' };
    case 'minProperties':
      return { path: dottedPath(path), message: `needs at least ${String(e.params.limit)} entr${e.params.limit === 1 ? 'y' : 'ies'}`, hint: description ?? 'add an entry' };
    case 'minLength':
      return { path: dottedPath(path), message: 'must not be empty', hint: description ?? 'give a value, or remove the key' };
    case 'uniqueItems':
      return { path: dottedPath(path), message: `has duplicate items (items ${String(e.params.j)} and ${String(e.params.i)})`, hint: 'remove one of them' };
    case 'propertyNames':
      return undefined; // the pattern error on the name itself says it better
    case 'if':
      return undefined; // the failing `then` branch (e.g. a missing key) says it better
    case 'oneOf':
    case 'anyOf':
      return { path: dottedPath(path), message: `${describeValue(value)} does not fit any allowed form`, hint: description ?? 'see the schema: schema/phase-compose.schema.json' };
    default:
      return { path: dottedPath(path), message: e.message ?? `fails "${e.keyword}"`, hint: description ?? 'see the schema: schema/phase-compose.schema.json' };
  }
}

/**
 * Turns ajv errors into problems. A `oneOf` yields errors from every branch; only the branch that
 * fits the value (by type, then by a `const` discriminator) is kept. When no branch takes the value's
 * type, one "expected X or Y" replaces them all.
 */
export function schemaProblems(errors: readonly SchemaError[], data: unknown, schema: JsonSchema): Problem[] {
  let kept = [...errors];
  const problems: Problem[] = [];
  for (const o of errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf')) {
    const prefix = `${o.schemaPath}/`;
    const path = pointerToPath(o.instancePath);
    const value = valueAt(data, path);
    const holder = schemaAt(schema, path, data, false);
    const branches = ((holder?.oneOf ?? holder?.anyOf) as JsonSchema[] | undefined) ?? [];
    const chosen = pickBranch(schema, branches, value);
    const index = chosen ? branches.findIndex((b) => deref(schema, b) === chosen) : -1;
    const fromBranch = (e: SchemaError) => e.schemaPath.startsWith(prefix) && e.instancePath.startsWith(o.instancePath);
    if (index >= 0) {
      kept = kept.filter((e) => e === o ? false : !fromBranch(e) || e.schemaPath.startsWith(`${prefix}${index}/`));
    } else {
      kept = kept.filter((e) => e !== o && !fromBranch(e));
      const want = [...new Set(branches.map((b) => deref(schema, b)?.type).filter((t): t is string => typeof t === 'string'))];
      problems.push({
        severity: 'error',
        path: dottedPath(path),
        message: `expected ${want.map((t) => typeWords[t] ?? t).join(' or ')}, got ${describeValue(value)}`,
        hint: typeHint(want, value, typeof holder?.description === 'string' ? holder.description : undefined),
      });
    }
  }
  const seen = new Set<string>();
  for (const e of kept) {
    const prob = one(e, data, schema);
    if (!prob) continue;
    const k = `${prob.path}|${prob.message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    problems.push({ severity: 'error', ...prob });
  }
  return problems;
}
