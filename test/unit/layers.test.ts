// Arrows point one way. Every import in src/**/*.ts (type-only and dynamic ones too) goes from a folder
// to a folder in the same layer or a lower one, and no two folders import each other, directly or round
// a longer loop. A new folder must be placed here before its imports pass.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/** Higher layers may import lower ones; never the other way. */
const LAYERS: Record<string, number> = {
  cli: 6, //    yargs commands: arguments in, exit codes out; the only place that prints
  up: 5, //     ops: start-up runner, plan, status
  exec: 5, //   ops: maintenance tasks, SQL, exec in containers
  backup: 5, // ops: pg_dump / restore
  upgrade: 5, // ops: upgrade plan, rolling replacement, rollback record
  stack: 4, //  opening a stack (spec, paths, project, Compose, lock) and writing its generated files
  model: 3, //  pure: spec -> compose, task -> argv
  kube: 3, //   pure: spec -> Kubernetes manifests (imports model's YAML emitter and task argv)
  proxy: 3, //  pure: spec -> nginx config
  init: 3, //   pure: templates and .env for `init`
  docker: 3, // edge: Engine client, Compose CLI, labels, lock
  spec: 2, //   schema, YAML with positions, semantic rules, the dependency graph
  util: 1, //   errors, files, durations, signals
};

const SRC = resolve(import.meta.dirname, '../../src');
type Edge = { from: string; to: string; file: string; spec: string };

/** Every import between two different folders of src, with where it is written. */
function folderImports(): Edge[] {
  const edges: Edge[] = [];
  const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  for (const f of files) {
    const from = f.split(sep)[0]!;
    for (const { fileName } of ts.preProcessFile(readFileSync(join(SRC, f), 'utf8'), true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue; // a package
      const rel = relative(SRC, resolve(dirname(join(SRC, f)), fileName));
      if (rel.startsWith('..') || !rel.includes(sep)) continue; // outside src (schema JSON)
      const to = rel.split(sep)[0]!;
      if (to !== from) edges.push({ from, to, file: `src/${f}`, spec: fileName });
    }
  }
  return edges;
}

/** Imports that point to a higher layer, and folders no layer is given for. */
function wrongArrows(edges: readonly Edge[], layers: Record<string, number>): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const a = layers[e.from];
    const b = layers[e.to];
    if (a === undefined || b === undefined) out.push(`${e.file}: ${a === undefined ? e.from : e.to} has no layer (add it to LAYERS)`);
    else if (b > a) out.push(`${e.file} imports ${e.spec}: ${e.from} (layer ${a}) may not import ${e.to} (layer ${b})`);
  }
  return out;
}

/** One cycle between folders as a path (first = last), or undefined. */
function folderCycle(edges: readonly Edge[]): string[] | undefined {
  const next = new Map<string, Set<string>>();
  for (const e of edges) (next.get(e.from) ?? next.set(e.from, new Set()).get(e.from)!).add(e.to);
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    path.push(n);
    for (const m of [...(next.get(n) ?? [])].sort()) {
      const c = visit(m);
      if (c) return c;
    }
    path.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of [...next.keys()].sort()) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

describe('layers of src/', () => {
  const edges = folderImports();

  it('every folder of src has a layer', () => {
    const folders = readdirSync(SRC, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(folders.filter((f) => LAYERS[f] === undefined)).toEqual([]);
  });

  it('no import points to a higher layer (spec never imports model)', () => {
    expect(edges.length).toBeGreaterThan(20); // the imports were read
    expect(wrongArrows(edges, LAYERS)).toEqual([]);
  });

  it('no cycle between folders', () => {
    expect(folderCycle(edges)).toBeUndefined();
  });

  it('the checks find a wrong arrow, a folder without a layer and a cycle', () => {
    const e = (from: string, to: string): Edge => ({ from, to, file: `src/${from}/x.ts`, spec: `../${to}/y.js` });
    expect(wrongArrows([e('spec', 'model')], LAYERS)).toEqual(['src/spec/x.ts imports ../model/y.js: spec (layer 2) may not import model (layer 3)']);
    expect(wrongArrows([e('cli', 'new')], LAYERS)).toEqual(['src/cli/x.ts: new has no layer (add it to LAYERS)']);
    expect(folderCycle([e('model', 'proxy'), e('proxy', 'spec'), e('proxy', 'model')])).toEqual(['model', 'proxy', 'model']);
    expect(folderCycle([e('up', 'backup'), e('backup', 'exec')])).toBeUndefined();
  });
});
