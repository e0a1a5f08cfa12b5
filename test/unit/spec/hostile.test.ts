// Issue #11: validation that matches what Compose accepts, with a located message and a hint for every problem.
import { describe, expect, it } from 'vitest';
import { findCycle, waves } from '../../../src/model/graph.js';
import { parsePublishedPort } from '../../../src/spec/semantic.js';
import { problemsOf, specOf, y } from '../helpers.js';
import { generateCompose } from '../../../src/model/compose.js';

const svc = (extra: string) => `name: demo\nservices:\n  web:\n    image: app:1\n${extra}`;

describe('published ports (item 10: arithmetic ranges; item 11: Compose bounds)', () => {
  it('parses ranges without expanding them', () => {
    expect(parsePublishedPort('49152-65535:49152-65535/udp')).toEqual({ ip: '0.0.0.0', host: [49152, 65535], container: [49152, 65535], proto: 'udp' });
    expect(parsePublishedPort('1-4000000000:80')).toBe('host port 4000000000 is out of range (1-65535)');
    expect(parsePublishedPort('70000:80')).toBe('host port 70000 is out of range (1-65535)');
    expect(parsePublishedPort('80:99999')).toBe('container port 99999 is out of range (1-65535)');
    expect(parsePublishedPort('9000-8000:80')).toBe('host port range 9000-8000 runs backwards');
    expect(parsePublishedPort('8000-8010:80-82')).toBe('host range 8000-8010 and container range 80-82 differ in size');
  });

  it.each([
    ['"1-4000000000:80"', 'host port 4000000000 is out of range (1-65535)'],
    ['"70000:80"', 'host port 70000 is out of range (1-65535)'],
    ['"8080:99999"', 'container port 99999 is out of range (1-65535)'],
    ['"99999"', 'container port 99999 is out of range (1-65535)'],
  ])('rejects %s at the entry, with a hint', (port, message) => {
    expect(problemsOf(svc(`    ports: [${port}]\n`))).toEqual([`spec.yaml:5:13: error: services.web.ports[0]: ${message}\n    hint: ports are 1-65535; a range is FROM-TO, e.g. "8000-8010:8000-8010"`]);
  });

  it('accepts a full high range, and finds a clash inside overlapping ranges', () => {
    expect(problemsOf(svc('    ports: ["49152-65535:49152-65535/udp"]\n'))).toEqual([]);
    expect(problemsOf(svc('    ports: ["8000-8100:8000-8100", "127.0.0.1:8050-8060:80-90", "8050/udp"]\n'))).toEqual([
      'spec.yaml:5:36: error: services.web.ports[1]: host port 8050/tcp is already published by services.web\n    hint: pick another host port',
    ]);
  });

  it('bounds the pairwise clash check', () => {
    const ports = Array.from({ length: 1001 }, (_, i) => `"${i + 1}:80"`).join(', ');
    expect(problemsOf(svc(`    ports: [${ports}]\n`))).toEqual([
      expect.stringMatching(/services\.web\.ports\[1000\]: more than 1000 published host ports\n    hint: publish a range/) as unknown as string,
    ]);
  });
});

describe('checks that grow with input stay linear (item 10)', () => {
  it('a dependency chain of 50000 services: no stack overflow in cycle search or waves', () => {
    const n = 50000;
    const node = (i: number) => ({ name: `s${i}`, kind: 'service' as const, role: 'service' as const, hasHealthcheck: false, path: `services.s${i}`, deps: i + 1 < n ? [{ on: `s${i + 1}`, condition: 'started' as const, from: '', implicit: false }] : [] });
    const graph = { nodes: new Map(Array.from({ length: n }, (_, i) => [`s${i}`, node(i)])) };
    expect(findCycle(graph)).toBeUndefined();
    expect(waves(graph)).toHaveLength(n);
    graph.nodes.get(`s${n - 1}`)!.deps.push({ on: 's0', condition: 'started', from: '', implicit: false });
    expect(findCycle(graph)).toHaveLength(n + 1);
  });

  it('many unknown references: suggestions stop when their budget is spent, hints stay short', () => {
    const text = `name: demo\nservices:\n${Array.from({ length: 3000 }, (_, i) => `  s${i}:\n    image: a\n    depends_on: [x${i}yz]\n`).join('')}`;
    const out = problemsOf(text);
    expect(out).toHaveLength(3000);
    for (const l of out) expect(l.length).toBeLessThan(300);
  });
});

describe('YAML reading (items 13, 14)', () => {
  it('refuses deep nesting with a located message instead of overflowing the stack', () => {
    expect(problemsOf(svc(`    labels: ${'['.repeat(5000)}${']'.repeat(5000)}\n`))).toEqual([
      'spec.yaml:5:74: error: YAML nesting deeper than 64 levels\n    hint: a deployment spec is a few levels deep: check the indentation and the brackets here',
    ]);
    const block = Array.from({ length: 3000 }, (_, i) => `${' '.repeat(6 + i)}k${i}:\n`).join('');
    expect(problemsOf(svc(`    labels:\n${block}`))[0]).toMatch(/^spec\.yaml:\d+:\d+: error: YAML nesting deeper than 64 levels/);
    // A normal spec is nowhere near the bound.
    expect(problemsOf(svc('    labels: { a: "1" }\n'))).toEqual([]);
  });

  it('reports an unclosed quote where it opens', () => {
    expect(problemsOf('name: demo\nservices:\n  web:\n    image: "app\n    command: [x]\n')).toEqual([
      'spec.yaml:4:12: error: YAML syntax: this double-quoted string is never closed\n    hint: add the closing " on this line',
    ]);
  });

  it('a second document: says one document is expected, at the second one', () => {
    expect(problemsOf(`${svc('')}---\nname: other\n`)).toEqual([
      'spec.yaml:5:1: error: one YAML document expected, but a second one starts here\n    hint: a spec is a single document: remove the "---" line and what follows, or split it into two spec files',
    ]);
  });

  it('${...} unquoted inside { }: the hint is about quoting', () => {
    const out = problemsOf('name: demo\ndata:\n  postgres: { image: pg, database: ${DB}, user: u, password: "${P}" }\nservices:\n  web:\n    image: app:1\n');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^spec\.yaml:3:\d+: error: YAML syntax: .*\n    hint: inside \{ \} or \[ \], quote values that contain \$\{\.\.\.\}: write key: "\$\{VAR\}"$/);
  });

  it('duplicate keys are reported (found in one pass)', () => {
    expect(problemsOf(svc('    image: app:2\n'))).toEqual([
      'spec.yaml:5:5: error: YAML syntax: key "image" appears twice in this map\n    hint: remove or rename one of them',
    ]);
  });

  it('accepts merge keys (<<: *base): validates and generates as the expanded form', () => {
    const merged = specOf(y`
      name: demo
      services:
        web: &base
          image: app:1
          environment: { A: "1" }
        worker:
          <<: *base
          command: [work]
    `);
    const expanded = specOf(y`
      name: demo
      services:
        web:
          image: app:1
          environment: { A: "1" }
        worker:
          image: app:1
          environment: { A: "1" }
          command: [work]
    `);
    expect(merged).toEqual(expanded);
    expect(generateCompose(merged)).toEqual(generateCompose(expanded));
  });
});
