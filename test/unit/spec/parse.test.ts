import { describe, expect, it } from 'vitest';
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

  it('a few aliases are fine', () => {
    expect(problemsOf('name: demo\nx-img: &img app:1\nservices:\n  web: { image: *img }\n').filter((p) => p.includes('alias'))).toEqual([]);
  });
});
