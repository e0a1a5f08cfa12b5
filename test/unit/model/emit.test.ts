import { describe, expect, it } from 'vitest';
import { toYaml } from '../../../src/model/emit.js';
import { parse } from 'yaml';

describe('YAML emitter', () => {
  it('double-quotes every string so YAML 1.1 readers cannot misread it', () => {
    expect(toYaml({ ports: ['80:80'], restart: 'no', count: 3, b: true, n: 1 })).toBe('ports:\n  - "80:80"\nrestart: "no"\ncount: 3\nb: true\n"n": 1\n');
  });

  it('quotes keys YAML 1.1 would read as booleans, numbers or null', () => {
    expect(toYaml({ on: 'x', Y: 'x', '8080': 'x', 'MY-VAR.ok/x': 'x', 'a b': 'x' })).toBe(
      '"8080": "x"\n"on": "x"\n"Y": "x"\nMY-VAR.ok/x: "x"\n"a b": "x"\n',
    );
  });

  it('writes empty maps and lists inline, and round-trips', () => {
    const data = { services: { a: { command: ['sh', '-c', 'echo "$$HOME" \\ ok'] } }, networks: { net: {} }, e: [] };
    const text = toYaml(data);
    expect(text).toContain('  net: {}\n');
    expect(parse(text)).toEqual(data);
  });

  it('is byte-for-byte deterministic', () => {
    const data = { b: { y: ['1', '2'], x: { k: 'v' } }, a: 1 };
    expect(toYaml(data)).toBe(toYaml(structuredClone(data)));
  });
});
