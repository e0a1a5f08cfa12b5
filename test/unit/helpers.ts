// Shared helpers for unit tests: run the pure spec pipeline on inline YAML.
import { checkSpecText } from '../../src/spec/check.js';
import validate from '../../src/spec/generated/validate-spec.js';
import schema from '../../schema/phase-compose.schema.json' with { type: 'json' };
import { formatProblem } from '../../src/util/errors.js';
import type { NormalisedSpec } from '../../src/spec/normalise.js';

/** Every problem of a spec, formatted as the CLI prints them. */
export function problemsOf(yaml: string): string[] {
  return checkSpecText(yaml, 'spec.yaml', validate, schema as Record<string, unknown>).problems.map(formatProblem);
}

/** Parses a spec that must be valid. */
export function specOf(yaml: string): NormalisedSpec {
  const r = checkSpecText(yaml, 'spec.yaml', validate, schema as Record<string, unknown>);
  if (!r.spec) throw new Error(`spec has problems:\n${r.problems.map(formatProblem).join('\n')}`);
  return r.spec;
}

/** Strips the common indentation of a template literal. */
export function y(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = String.raw({ raw: strings }, ...values).replace(/^\n/, '');
  const indent = Math.min(...text.split('\n').filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length));
  return text.split('\n').map((l) => l.slice(indent)).join('\n');
}

/** A small spec with a proxy; its client_ip and one route path given as YAML text. */
export function proxySpecYaml(clientIp = '{ mode: direct }', path = '/'): string {
  return y`
    name: demo
    services:
      web: { image: app:1 }
    proxy:
      image: nginx:1
      config: nginx.conf
      client_ip: ${clientIp}
      routes:
        - { path: ${path}, to: "web:80" }
  `;
}
