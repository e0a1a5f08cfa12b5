import { describe, expect, it } from 'vitest';
import { formatEnvValue, mergeEnvFile, parseEnvFile } from '../../../src/init/env-file.js';

describe('parseEnvFile', () => {
  it.each([
    ['export KEY=v', 'v'],
    ['  export KEY="quoted value"', 'quoted value'],
    ["KEY='single # not a comment'", 'single # not a comment'],
    ['KEY=bare # a comment', 'bare'],
    ['KEY = spaced ', 'spaced'],
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
