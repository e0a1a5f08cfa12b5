import { describe, expect, it } from 'vitest';
import { byCodePoint } from '../../../src/util/compare.js';

describe('byCodePoint', () => {
  it('orders by code point, not by locale: upper case, then _, then lower case', () => {
    expect(['b', 'a', '_x', 'B', 'a'].sort(byCodePoint)).toEqual(['B', '_x', 'a', 'a', 'b']);
    expect(byCodePoint('x', 'x')).toBe(0);
  });
});
