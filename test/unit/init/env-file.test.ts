import { describe, expect, it } from 'vitest';
import { envEntries, envValueAmbiguity, formatEnvValue, mergeEnvFile, removeEnvKeys, parseEnvFile } from '../../../src/init/env-file.js';

describe('parseEnvFile', () => {
  it.each([
    ['export KEY=v', 'v'],
    ['  export KEY="quoted value"', 'quoted value'],
    ["KEY='single # not a comment'", 'single # not a comment'],
    ['KEY=bare # a comment', 'bare'],
    ['KEY = spaced ', 'spaced'],
    // As Compose reads them (compose-go, python-dotenv): a '#' ends a bare value only after whitespace.
    // dotenv alone read "" and "ab": until 2026-11-28 init --force replaced such a database password.
    ['KEY=#Xk9pQ2wLm7', '#Xk9pQ2wLm7'],
    ['KEY=ab#cd', 'ab#cd'],
    ['KEY= #abc', '#abc'],
    ['KEY=ab#cd # and a comment', 'ab#cd'],
    ['KEY=a\t# tab comment', 'a'],
  ])('%s → %s', (line, value) => {
    expect(parseEnvFile(`# comment\n${line}\n`)).toEqual({ KEY: value });
  });
});

describe('formatEnvValue', () => {
  it.each(['abc123', 'https://', 'phase.example.com:8443', 'with space', 'a#b', 'p$ss', 'x"y', '', 'é'])(
    '%j reads back unchanged',
    (v) => {
      expect(parseEnvFile(`K=${formatEnvValue(v)}\n`).K).toBe(v);
    },
  );

  it('quotes what Compose would interpolate or cut', () => {
    expect(formatEnvValue('p$ss')).toBe("'p$ss'");
    expect(formatEnvValue('a #b')).toBe("'a #b'");
    expect(formatEnvValue('abc')).toBe('abc');
  });

  it.each(["it's", 'back\\slash', 'two\nlines'])('refuses %j, which no quoting keeps identical everywhere', (v) => {
    expect(() => formatEnvValue(v)).toThrow(/cannot be written to an env file/);
  });
});

describe('mergeEnvFile', () => {
  it('keeps every line, replaces the keys set (export lines too), appends the missing ones', () => {
    const old = '# mine\nexport HOST=old\nOAUTH=x # note\nSECRET="s p"\n';
    const merged = mergeEnvFile(old, { HOST: 'new.example' }, { SECRET: 'fresh', NEW: 'n', OAUTH: 'y' }, 'added');
    expect(merged).toBe('# mine\nHOST=new.example\nOAUTH=x # note\nSECRET="s p"\n\n# added\nNEW=n\n');
    expect(parseEnvFile(merged)).toEqual({ HOST: 'new.example', OAUTH: 'x', SECRET: 's p', NEW: 'n' });
  });

  it('refuses when a line-by-line update would change another value', () => {
    const old = 'NOTE="line one\nHOST=inside a quoted value"\nHOST=real\n';
    expect(() => mergeEnvFile(old, { HOST: 'h' }, {}, 'added')).toThrow(/could not be updated line by line/);
  });
});

describe('removeEnvKeys', () => {
  const note = 'set by phase-compose upgrade';
  it('takes out the lines mergeEnvFile added (with their note), every other line kept', () => {
    const before = '# mine\nA=1\nexport B="two words" # kept\n';
    const added = mergeEnvFile(before, { PHASE_VERSION: '2.74.0' }, {}, note);
    expect(added).toBe(`${before}\n# ${note}\nPHASE_VERSION=2.74.0\n`);
    expect(removeEnvKeys(added, ['PHASE_VERSION'], note)).toBe(before);
  });
  it('removes a key defined among others, and keeps a note that still heads other lines', () => {
    expect(removeEnvKeys('A=1\nexport V=2\nB=3\n', ['V'], note)).toBe('A=1\nB=3\n');
    expect(removeEnvKeys(`A=1\n\n# ${note}\nV=2\nC=3\n`, ['V'], note)).toBe(`A=1\n\n# ${note}\nC=3\n`);
    expect(removeEnvKeys('V=1\n', ['V'], note)).toBe('');
  });
  it('refuses a file it cannot edit line by line', () => {
    expect(() => removeEnvKeys('A="a\nV=still inside A"\nV=2\n', ['V'], note)).toThrow('could not be updated line by line');
  });
});

describe('parseEnvFile: values over several lines', () => {
  it('reads a line inside a quoted value as part of it, not as a key of its own', () => {
    expect(parseEnvFile('A="one\nB=#two"\nC=#three\n')).toEqual({ A: 'one\nB=#two', C: '#three' });
  });
});

describe('envEntries and envValueAmbiguity: a value as written, and whether Compose reads it otherwise', () => {
  it('finds each definition with its lines, a quoted value running on over several', () => {
    const text = '# c\nA=1\nexport B="x\ny\nz" # n\n  # C=3\nD=\'q\'\nA=2\n';
    expect(envEntries(text).map((e) => [e.key, e.raw, e.quote ?? '', e.first, e.last])).toEqual([
      ['A', '1', '', 1, 1], ['B', '"x\ny\nz" # n', '"', 2, 4], ['D', "'q'", "'", 6, 6], ['A', '2', '', 7, 7],
    ]);
  });

  // Each as Compose 2.26.1 and 1.29.2 read it (`docker compose config` / `docker-compose config`, 2026-11-28).
  it.each<[string, string | undefined]>([
    ['pa$word', 'a `$`'], // Compose 2: "pa"; 1.29: "pa$word"
    ['pa$$word', 'a `$`'], // 2: "pa$word"; 1.29: "pa$$word"
    ['"${A}x"', 'a `$`'],
    ['"x\\"y"', 'a backslash in double quotes'], // both: x"y; dotenv: x\"y
    ["'${A}'", 'a `${` in single quotes'], // 1.29 expands it
    ["'pa$$word'", undefined], // literal in all
    ['a\\nb', undefined], // a\nb in all
    ['"a#b c"', undefined],
    ['#Xk9', undefined],
  ])('%s', (raw, why) => {
    const [e] = envEntries(`K=${raw}\n`);
    const got = envValueAmbiguity(e!);
    if (why === undefined) expect(got).toBeUndefined();
    else expect(got).toContain(why);
  });
});

describe('parseEnvFile: a key defined twice', () => {
  it('reads the last definition, quoted or not (Compose 1.29 and 2 both do)', () => {
    expect(parseEnvFile("K=old\nK='new'\n").K).toBe('new');
    expect(parseEnvFile('K="old"\nK=new # c\n').K).toBe('new');
    expect(parseEnvFile('K=a#b\nJ=1\nK=c\n')).toEqual({ K: 'c', J: '1' });
  });
});
