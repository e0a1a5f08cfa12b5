// Issue #11 item 18: every YAML block in README.md parses, and those that are specs validate.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { problemsOf } from './helpers.js';

const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
const blocks = [...readme.matchAll(/^```ya?ml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);

describe('README.md YAML blocks', () => {
  it('has YAML blocks to check', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  it.each(blocks.map((b, i) => [i + 1, b] as const))('block %i parses, and validates when it is a spec', (_i, block) => {
    expect(parseDocument(block).errors.map((e) => e.message)).toEqual([]);
    if (/^name:/m.test(block) && /^services:/m.test(block)) expect(problemsOf(block).filter((p) => p.includes(': error: '))).toEqual([]);
  });
});
