// YAML text → plain data, keeping the document so paths can be mapped back to line:col.
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, visit, type Document, type Node } from 'yaml';
import type { Problem } from '../util/errors.js';

export type ParsedYaml = {
  data: unknown;
  problems: Problem[];
  /** Maps a path (array of keys/indexes) to 1-based line and column. */
  locate: (path: ReadonlyArray<string | number>) => { line: number; col: number } | undefined;
};

/** Parses YAML; syntax errors become problems with positions. */
export function parseYaml(text: string, file?: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: Problem[] = [];
  for (const e of doc.errors) {
    const pos = lineCounter.linePos(e.pos[0]);
    problems.push({
      severity: 'error',
      path: '',
      message: `YAML syntax: ${e.message.split('\n')[0]}`,
      hint: 'fix the YAML syntax at this position (indentation, quotes, a missing colon)',
      file,
      line: pos.line,
      col: pos.col,
    });
  }
  const locate = (path: ReadonlyArray<string | number>) => {
    const offset = findOffset(doc, path);
    if (offset === undefined) return undefined;
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, col: pos.col };
  };
  if (problems.length) return { data: undefined, problems, locate };
  try {
    return { data: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }), problems, locate };
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
    return { data: undefined, problems, locate };
  }
}

/** yaml's bound on alias expansion (its default, made explicit): beyond it, toJS throws. */
const MAX_ALIAS_COUNT = 100;

// Walk down the path; return the offset of the deepest node found (the key for map entries).
function findOffset(doc: Document, path: ReadonlyArray<string | number>): number | undefined {
  let node: unknown = doc.contents;
  let best: number | undefined = (doc.contents as Node | null)?.range?.[0];
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(key));
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
