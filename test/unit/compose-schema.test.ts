import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { composeSpecErrors } from './compose-schema.js';

const file = fileURLToPath(new URL('../../schema/vendor/compose-spec.json', import.meta.url));
const readme = fileURLToPath(new URL('../../schema/vendor/README.md', import.meta.url));

describe('the vendored Compose Specification schema', () => {
  it('is the version that schema/vendor/README.md names (compose-spec commit 170098b)', () => {
    const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
    expect(sha).toBe('1f91e091f16b2dd50ab8860e02bb391d22df553d91c145eacedb1b6eff9c3f0e');
    expect(readFileSync(readme, 'utf8')).toContain(sha);
  });
  it('accepts a minimal file and rejects a wrong one', () => {
    expect(composeSpecErrors({ services: { a: { image: 'x' } } })).toEqual([]);
    expect(composeSpecErrors({ services: { a: { image: 'x', restart: 5 } } })).not.toEqual([]);
  });
});
