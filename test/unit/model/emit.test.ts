import { describe, expect, it } from 'vitest';
import { toYaml } from '../../../src/model/emit.js';
import { parse } from 'yaml';

describe('YAML emitter', () => {
  it('double-quotes every string so YAML 1.1 readers cannot misread it', () => {
    expect(toYaml({ ports: ['80:80'], restart: 'no', count: 3, b: true, n: 1 })).toBe('ports:\n  - "80:80"\nrestart: "no"\ncount: 3\nb: true\n"n": 1\n');
  });

  it('quotes keys YAML 1.1 would read as booleans, numbers or null', () => {
    const data = { on: 'x', Y: 'x', '8080': 'x', 'MY-VAR.ok/x': 'x', 'a b': 'x', null: 'x', '1.5': 'x' };
    const text = toYaml(data);
    expect(text).toBe('"8080": "x"\n"on": "x"\n"Y": "x"\nMY-VAR.ok/x: "x"\na b: "x"\n"null": "x"\n"1.5": "x"\n');
    // Read back the way PyYAML reads it (YAML 1.1), every key is still the same string.
    expect(parse(text, { version: '1.1' })).toEqual(data);
  });

  it('writes empty maps and lists inline, and round-trips', () => {
    const data = { services: { a: { command: ['sh', '-c', 'echo "$$HOME" \\ ok'] } }, networks: { net: {} }, e: [] };
    const text = toYaml(data);
    expect(text).toContain('  net: {}\n');
    expect(parse(text)).toEqual(data);
  });

  it('keeps key order, nests lists under their key, and never folds long strings', () => {
    const long = 'x'.repeat(200);
    expect(toYaml({ b: { y: ['1', { k: 'v', l: [long] }], x: {} }, a: [[1, 'z']] })).toBe(
      `b:\n  "y":\n    - "1"\n    - k: "v"\n      l:\n        - "${long}"\n  x: {}\na:\n  - - 1\n    - "z"\n`,
    );
  });

  it('escapes what would end a string or a line', () => {
    const text = toYaml({ s: 'a"b\\c\nd\u0001' });
    expect(text).toBe('s: "a\\"b\\\\c\\nd\\u0001"\n');
    expect(parse(text)).toEqual({ s: 'a"b\\c\nd\u0001' });
  });
});
