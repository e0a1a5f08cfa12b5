import { Alias } from 'yaml';
import { describe, expect, it, vi } from 'vitest';
import { parseYaml } from '../../../src/spec/parse.js';
import { problemsOf } from '../helpers.js';

describe('parseYaml', () => {
  it('an alias bomb is a located spec problem, not a crash', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 7; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const problems = problemsOf(`${levels.join('\n')}\n`);
    expect(problems).toEqual([
      expect.stringMatching(/^spec\.yaml:2:8: error: YAML aliases expand too much: Excessive alias count.*\n    hint: nested aliases/),
    ]);
  });

  it('reads each alias a bounded number of times, however the aliases nest (not a scan of the document each)', () => {
    // Three levels of maps of aliases, 100 wide: 3.8 KiB that took 3.7 s (2026-11-29), the env walk
    // calling yaml's resolve() (a scan of the whole document) for every alias it followed, 10^4 times.
    const row = (l: number, v: string) => `x-${l}: &a${l} { ${Array.from({ length: 100 }, (_, i) => `k${i}: ${v}`).join(', ')} }\n`;
    const text = `name: demo\n${row(0, '1')}${row(1, '*a0')}${row(2, '*a1')}services: { ${Array.from({ length: 100 }, (_, i) => `s${i}: *a2`).join(', ')} }\n`;
    const resolve = vi.spyOn(Alias.prototype, 'resolve');
    try {
      const r = parseYaml(text, 'spec.yaml');
      expect(r.problems.map((p) => p.message)).toEqual([expect.stringContaining('YAML aliases expand too much')]);
      expect(resolve.mock.calls.length).toBeLessThanOrEqual(300);
    } finally {
      resolve.mockRestore();
    }
  });

  it('a few aliases are fine', () => {
    expect(problemsOf('name: demo\nx-img: &img app:1\nservices:\n  web: { image: *img }\n').filter((p) => p.includes('alias'))).toEqual([]);
  });
});
