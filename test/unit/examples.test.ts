import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderOutputs } from '../../src/model/outputs.js';
import { specOf } from './helpers.js';
import { composeSpecErrors } from './compose-schema.js';

const root = join(import.meta.dirname, '../../examples');
const examples = readdirSync(root).filter((d) => existsSync(join(root, d, 'phase-compose.yaml')));

describe('examples', () => {
  it('has the four documented examples', () => {
    expect(examples.sort()).toEqual(['django-app', 'phase-replicas', 'phase-single-host', 'zero-downtime']);
  });

  describe.each(examples)('%s', (name) => {
    const dir = join(root, name);
    const spec = specOf(readFileSync(join(dir, 'phase-compose.yaml'), 'utf8'));
    const { files } = renderOutputs(spec, 'phase-compose.yaml');

    it('has its generated files checked in and current (run `npm run examples` to refresh)', () => {
      for (const f of files) expect(readFileSync(join(dir, f.path), 'utf8'), f.path).toBe(f.content);
    });

    it('validates against the official Compose Specification schema', () => {
      expect(composeSpecErrors(parse(files[0]!.content))).toEqual([]);
    });

    it('never writes a secret value, and never a container_name', () => {
      const text = files[0]!.content;
      expect(text).not.toContain('container_name');
      expect(text).not.toMatch(/(PASSWORD|SECRET|SECRET_KEY)"?: "(?!\$\{)/);
    });
  });

  it('the schema check can fail (negative control)', () => {
    expect(composeSpecErrors({ services: { a: { image: 'x', restart: 5, depends_on: { b: { condition: 'done' } } } } })).not.toEqual([]);
  });
});

describe('the fixture stack spec', () => {
  it('declares the same maintenance tasks as the phase template, so exec is tested as users run it', () => {
    const read = (p: string) => specOf(readFileSync(join(import.meta.dirname, '../..', p), 'utf8').replace('{{SCHEMA}}', 'x').replace(/\{\{[A-Z_]+\}\}/g, (t) => (t === '{{CLIENT_IP}}' ? '{ mode: direct }' : t === '{{TLS}}' ? '' : '1.29')));
    expect(read('test/fixtures/stack/phase-compose.yaml').maintenance).toEqual(read('templates/phase/phase-compose.yaml').maintenance);
  });
});
