// YAML text → plain data, keeping the document so paths can be mapped back to line:col.
import { LineCounter, Lexer, Pair, Scalar, parseDocument, isAlias, isMap, isSeq, isScalar, visit, type Document, type Node, type YAMLMap } from 'yaml';
import type { Problem } from '../util/errors.js';

export type ParsedYaml = {
  data: unknown;
  problems: Problem[];
  /** Maps a path (array of keys/indexes) to 1-based line and column. */
  locate: (path: ReadonlyArray<string | number>) => { line: number; col: number } | undefined;
  /** The document (undefined when the text did not parse). */
  doc?: Document;
};

/** Deepest nesting (block and flow collections together) a spec may have; the parser recurses per level. */
export const MAX_DEPTH = 64;

/** The lexer's zero-width markers (document, scalar, flow-error): not part of the source text. */
const isMarker = (tok: string) => tok === '\x02' || tok === '\x18' || tok === '\x1f';

/**
 * The offset where nesting first exceeds `max` levels, found with the (iterative) lexer before the
 * (recursive) parser runs, so deep input is refused instead of overflowing the stack.
 */
export function tooDeepAt(text: string, max = MAX_DEPTH): number | undefined {
  const indents: number[] = [];
  let flow = 0;
  let offset = 0;
  let col = 0;
  let nodeStart = true; // the next content token may start a block collection
  for (const tok of new Lexer().lex(text)) {
    if (isMarker(tok)) continue;
    const at = offset;
    offset += tok.length;
    if (tok === '\n') {
      col = 0;
      nodeStart = true;
      continue;
    }
    const startCol = col;
    const nl = tok.lastIndexOf('\n');
    col = nl >= 0 ? tok.length - nl - 1 : col + tok.length;
    if (/^[ \t]+$/.test(tok) || tok.startsWith('#')) continue;
    if (tok === '[' || tok === '{') flow++;
    else if (tok === ']' || tok === '}') flow = Math.max(0, flow - 1);
    if (flow === 0 || tok === '[' || tok === '{') {
      if (nodeStart && !(tok === ']' || tok === '}')) {
        while (indents.length && indents[indents.length - 1]! > startCol) indents.pop();
        if (!indents.length || indents[indents.length - 1]! < startCol) indents.push(startCol);
      }
    }
    nodeStart = flow === 0 && (tok === '-' || tok === '?');
    if (indents.length + flow > max) return at;
  }
  return undefined;
}

const problemAt = (lineCounter: LineCounter, offset: number, message: string, hint: string, file?: string): Problem => {
  const pos = lineCounter.linePos(offset);
  return { severity: 'error', path: '', message, hint, file, line: pos.line, col: pos.col };
};

/** The offset where the unclosed quoted scalar that runs to `end` opens. */
function openingQuote(text: string, end: number, quote: string): number | undefined {
  let offset = 0;
  let found: number | undefined;
  for (const tok of new Lexer().lex(text)) {
    if (offset > end) break;
    if (isMarker(tok)) continue;
    if (tok.startsWith(quote)) found = offset;
    offset += tok.length;
  }
  return found;
}

/** Parses YAML (one document; merge keys `<<` allowed); syntax errors become problems with positions. */
export function parseYaml(text: string, file?: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const none = { data: undefined, locate: () => undefined };
  const deep = tooDeepAt(text);
  if (deep !== undefined) {
    lineCounter.addNewLine(0);
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineCounter.addNewLine(i + 1);
    return { ...none, problems: [problemAt(lineCounter, deep, `YAML nesting deeper than ${MAX_DEPTH} levels`, 'a deployment spec is a few levels deep: check the indentation and the brackets here', file)] };
  }
  let doc: Document;
  try {
    // Duplicate keys are found below in one pass (the library's own check is quadratic in a map's size).
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, merge: true });
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return { ...none, problems: [problemAt(lineCounter, 0, 'YAML nesting too deep to read', `keep the spec under ${MAX_DEPTH} levels of nesting`, file)] };
  }
  const e = doc.errors[0];
  if (e) return { ...none, problems: [syntaxProblem(text, e, lineCounter, file)] };
  const problems = keyProblems(doc).map((k) => problemAt(lineCounter, k.node.range![0], k.message, k.hint, file));
  const locate = (path: ReadonlyArray<string | number>) => {
    const offset = findOffset(doc, path);
    if (offset === undefined) return undefined;
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, col: pos.col };
  };
  if (!problems.length) numbersAsWritten(doc);
  if (problems.length) return { data: undefined, problems, locate, doc };
  try {
    return { data: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }), problems, locate, doc };
  } catch (e) {
    // yaml refuses to expand aliases past maxAliasCount (a "billion laughs" bomb): a spec problem.
    let at = 0;
    visit(doc, { Alias: (_, n) => ((at = n.range?.[0] ?? 0), visit.BREAK) });
    const pos = lineCounter.linePos(at);
    problems.push({
      severity: 'error',
      path: '',
      message: `YAML aliases expand too much: ${(e as Error).message}`,
      hint: 'nested aliases (*name) of large anchors expand past the bound that guards against alias bombs; write the values out, or nest fewer aliases',
      file,
      line: pos.line,
      col: pos.col,
    });
    return { data: undefined, problems, locate, doc };
  }
}

/** How many alias expansions toJS() may do: far above any real spec, far below a bomb. */
const MAX_ALIAS_COUNT = 100;

/** The first syntax error (later ones are nearly always its echo), placed and explained. */
function syntaxProblem(text: string, e: { code: string; message: string; pos: [number, number] }, lineCounter: LineCounter, file?: string): Problem {
  const first = e.message.split('\n')[0]!;
  if (e.code === 'MULTIPLE_DOCS') {
    return problemAt(lineCounter, e.pos[0], 'one YAML document expected, but a second one starts here', 'a spec is a single document: remove the "---" line and what follows, or split it into two spec files', file);
  }
  const quote = /^Missing closing (["'])quote/.exec(first)?.[1];
  if (e.code === 'MISSING_CHAR' && quote) {
    const open = openingQuote(text, e.pos[0], quote);
    return problemAt(lineCounter, open ?? e.pos[0], `YAML syntax: this ${quote === '"' ? 'double' : 'single'}-quoted string is never closed`, `add the closing ${quote} on this line`, file);
  }
  const lineStart = text.lastIndexOf('\n', e.pos[0] - 1) + 1;
  const lineEnd = text.indexOf('\n', e.pos[0]);
  const line = text.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
  // `{ key: ${VAR} }`: in a flow collection, an unquoted `{` of `${` opens a nested map.
  if (/[{[][^"']*\$\{/.test(line)) {
    return problemAt(lineCounter, e.pos[0], `YAML syntax: ${first}`, 'inside { } or [ ], quote values that contain ${...}: write key: "${VAR}"', file);
  }
  return problemAt(lineCounter, e.pos[0], `YAML syntax: ${first}`, 'fix the YAML syntax at this position (indentation, quotes, a missing colon)', file);
}

/** Map pairs numbersAsWritten may visit, merges followed: far above any real spec (toJS's alias bound refuses a bomb). */
const MAX_ENV_WALK = 100_000;

/**
 * Numbers and booleans in `environment` maps become the text they were written as: `1.10` stays `1.10`
 * (not 1.1), a 20-digit ID keeps every digit, `0xDEADBEEF` and `True` stay as written. The container
 * gets a string either way. Values a merge key (`<<`) brings in are kept as written too: each becomes
 * the env map's own pair (explicit keys win over merged ones, so the data is the same), and the merged
 * map, which may serve elsewhere, is left alone.
 *
 * Aliases are resolved from one table built in one pass (the library's resolve() scans the document
 * each time: a small spec of many aliases took seconds), and the walk visits at most MAX_ENV_WALK pairs.
 */
function numbersAsWritten(doc: Document): void {
  const target = new Map<unknown, unknown>();
  const anchors = new Map<string, unknown>();
  visit(doc, (_, node) => {
    if (isAlias(node)) target.set(node, anchors.get(node.source));
    else if ((isMap(node) || isSeq(node) || isScalar(node)) && node.anchor) anchors.set(node.anchor, node);
  });
  const deref = (n: unknown) => (isAlias(n) ? target.get(n) : n);
  let budget = MAX_ENV_WALK;
  /** A map's pairs as merge reads them: its own, then each merged map's in turn; every map once. */
  const pairsOf = (node: unknown, seen = new Set<unknown>()): Array<{ pair: Pair; own: boolean }> => {
    const out: Array<{ pair: Pair; own: boolean }> = [];
    const walk = (m: unknown, own: boolean) => {
      if (!isMap(m) || seen.has(m)) return;
      seen.add(m);
      const merges: unknown[] = [];
      for (const pair of m.items) {
        if (--budget < 0) return;
        if (isScalar(pair.key) && typeof pair.key.value === 'symbol') merges.push(...(isSeq(pair.value) ? pair.value.items : [pair.value]));
        else out.push({ pair, own });
      }
      for (const x of merges) walk(deref(x), false);
    };
    walk(node, true);
    return out;
  };
  const get = (map: unknown, key: string): unknown => deref(pairsOf(map).find(({ pair }) => isScalar(pair.key) && pair.key.value === key)?.pair.value);
  const keepAsWritten = (env: unknown) => {
    if (!isMap(env)) return;
    const seen = new Set<string>();
    const added: Pair[] = [];
    for (const { pair, own } of pairsOf(env)) {
      if (!isScalar(pair.key)) continue;
      const key = String(pair.key.value);
      if (seen.has(key)) continue;
      seen.add(key);
      const v = deref(pair.value);
      if (!isScalar(v) || (typeof v.value !== 'number' && typeof v.value !== 'boolean') || typeof v.source !== 'string') continue;
      // In place when only this pair holds it (its position stays for error messages); else a copy.
      if (own && v === pair.value && !v.anchor) {
        v.value = v.source;
        continue;
      }
      const asWritten = new Scalar(v.source);
      asWritten.range = v.range ?? null;
      if (own) pair.value = asWritten;
      else added.push(new Pair(new Scalar(key), asWritten));
    }
    env.items.push(...added);
  };
  const root = deref(doc.contents);
  const services = get(root, 'services');
  for (const { pair } of pairsOf(services)) keepAsWritten(get(deref(pair.value), 'environment'));
  const migrations = get(root, 'migrations');
  keepAsWritten(get(migrations, 'environment'));
  for (const phase of ['pre', 'post']) keepAsWritten(get(get(migrations, phase), 'environment'));
}

/** A merge key's value: a map, an alias of one, or a list of those. */
const mergeable = (doc: Document, v: unknown): boolean => {
  const map = (x: unknown) => isMap(isAlias(x) ? x.resolve(doc) : x);
  return map(v) || (isSeq(v) && v.items.every(map));
};

/**
 * Keys that repeat an earlier key of the same map, and merge keys (`<<`) that merge something other
 * than maps: one pass per map (the library's own duplicate check is quadratic in a map's size).
 */
function keyProblems(doc: Document): Array<{ node: Node; message: string; hint: string }> {
  const out: Array<{ node: Node; message: string; hint: string }> = [];
  const stack: unknown[] = [doc.contents];
  while (stack.length) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const it of node.items) {
        if (isScalar(it.key) && typeof it.key.value === 'symbol') {
          if (!mergeable(doc, it.value)) out.push({ node: it.key, message: 'YAML merge key "<<" needs a map to merge', hint: 'write <<: *anchor, where &anchor names a map' });
        } else if (isScalar(it.key)) {
          const k = String(it.key.value);
          if (seen.has(k)) out.push({ node: it.key, message: `YAML syntax: key ${JSON.stringify(k)} appears twice in this map`, hint: 'remove or rename one of them' });
          seen.add(k);
        }
        stack.push(it.value);
      }
    } else if (isSeq(node)) stack.push(...node.items);
  }
  return out.sort((a, b) => a.node.range![0] - b.node.range![0]);
}

const pairIndex = new WeakMap<object, Map<string, Pair>>();
/** A map's pairs by key (first one wins), built once per map: locating many problems stays linear. */
function pairsOf(map: YAMLMap): Map<string, Pair> {
  let index = pairIndex.get(map);
  if (!index) {
    index = new Map();
    for (const it of map.items) if (isScalar(it.key) && !index.has(String(it.key.value))) index.set(String(it.key.value), it);
    pairIndex.set(map, index);
  }
  return index;
}

// Walk down the path; return the offset of the deepest node found (the key for map entries).
function findOffset(doc: Document, path: ReadonlyArray<string | number>): number | undefined {
  let node: unknown = doc.contents;
  let best: number | undefined = (doc.contents as Node | null)?.range?.[0];
  for (const key of path) {
    if (isMap(node)) {
      const pair = pairsOf(node).get(String(key));
      if (!pair) return best;
      const k = pair.key as Node;
      best = k.range?.[0] ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key] as Node | undefined;
      if (!item) return best;
      best = item.range?.[0] ?? best;
      node = item;
    } else {
      return best;
    }
  }
  return best;
}
