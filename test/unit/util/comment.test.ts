// One comment line of a generated file: a hostile file name cannot end it (issue #11, item 5).
import { describe, expect, it } from 'vitest';
import { commentText } from '../../../src/util/comment.js';

describe('commentText', () => {
  it('commentText leaves a plain name alone and escapes control characters', () => {
    expect(commentText('deploy/phase-compose.yaml')).toBe('deploy/phase-compose.yaml');
    expect(commentText('a\nb\tc\u007fd\u2028')).toBe('a\\u000ab\\u0009c\\u007fd\\u2028');
    // What YAML 1.1 refuses raw, and a lone surrogate; a surrogate pair stays.
    expect(commentText('a\ufffeb\uffffc\ud800d\ude00 \ud83d\ude00')).toBe('a\\ufffeb\\uffffc\\ud800d\\ude00 \ud83d\ude00');
  });
});
