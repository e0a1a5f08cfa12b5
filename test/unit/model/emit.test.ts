import { spawnSync } from 'node:child_process';
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

  it('escapes what YAML 1.1 reads as a line break (NEL, LS, PS) or refuses raw (DEL, C1), and quotes a "<<" key', () => {
    // Until 2026-11-28 these went out raw inside the JSON-style quotes: PyYAML and go-yaml read NEL as a line
    // break and folded it into a space, and "<<" was written plain, a merge key (PyYAML refused the file).
    const data = { env: { NEL: 'x\u0085y', LS: 'p\u2028q', PS: 'r\u2029s', C1: 'd\u007fe\u0080\u009f' }, labels: { '<<': 'v', 'k\u2028': 'w', 'a"b': 'x\u0085y' }, argv: ['a\u0085b'] };
    const text = toYaml(data);
    expect(text).not.toMatch(/[\u007f-\u009f\u2028\u2029]/);
    expect(text).toContain('NEL: "x\\u0085y"');
    expect(text).toContain('"<<": "v"');
    expect(parse(text, { version: '1.1' })).toEqual(data);
    // And as docker-compose 1.29 reads it, where its PyYAML is installed (python3-yaml, a dependency of it).
    const py = spawnSync('/usr/bin/python3', ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))'], { input: text, encoding: 'utf8' });
    if (py.status === 0) expect(JSON.parse(py.stdout)).toEqual(data);
  });

  it('escapes U+FFFE, U+FFFF and lone surrogates, which PyYAML refuses raw or UTF-8 cannot hold; keeps a pair', () => {
    // Until 2026-11-29 written raw: docker-compose 1.29 refused the file ("special characters are not allowed"),
    // and a lone surrogate became U+FFFD on disk.
    const data = { env: { NC: 'a\ufffeb\uffffc', LONE: 'x\ud800y\udc00z', PAIR: 'emoji \ud83d\ude00' }, labels: { 'k\uffff': 'v' } };
    const text = toYaml(data);
    expect(text).not.toMatch(/[\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    expect(text).toContain('NC: "a\\ufffeb\\uffffc"');
    expect(text).toContain('PAIR: "emoji \ud83d\ude00"');
    expect(parse(text, { version: '1.1' })).toEqual(data);
    const py = spawnSync('/usr/bin/python3', ['-c', 'import sys, yaml; d = yaml.safe_load(sys.stdin.read()); print(d["env"]["NC"] == "a\\ufffeb\\uffffc" and d["labels"]["k\\uffff"] == "v")'], { input: text, encoding: 'utf8' });
    if (py.status === 0 || py.stderr.includes('special characters')) expect(py.stdout.trim(), py.stderr).toBe('True');
  });

  it('escapes what would end a string or a line', () => {
    const text = toYaml({ s: 'a"b\\c\nd\u0001' });
    expect(text).toBe('s: "a\\"b\\\\c\\nd\\u0001"\n');
    expect(parse(text)).toEqual({ s: 'a"b\\c\nd\u0001' });
  });
});
