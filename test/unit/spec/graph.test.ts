import { describe, expect, it } from 'vitest';
import { buildGraph, findCycle, waves } from '../../../src/spec/graph.js';
import { normaliseSpec } from '../../../src/spec/normalise.js';
import { specOf, y } from '../helpers.js';

const stack = specOf(y`
  name: demo
  data:
    postgres: { image: pg, database: app, user: app, password: "\${DB_PASSWORD}" }
    redis: { image: redis, password: "\${REDIS_PASSWORD}" }
  services:
    backend:
      image: app:1
      healthcheck: { http: { port: 8000, path: /health/ } }
    worker:
      image: app:1
    frontend:
      image: web:1
      depends_on: [backend]
  migrations:
    same_image_as: backend
    before: [backend, worker]
    external: true
    pre: { command: [migrate, pre] }
    post: { command: [migrate, post] }
  proxy:
    image: nginx
    config: nginx.conf
    routes: [{ path: /api/, to: "backend:8000" }, { path: /, to: "frontend:3000" }]
`);

describe('dependency graph', () => {
  const g = buildGraph(stack);
  const deps = (n: string) => g.nodes.get(n)!.deps.map((d) => `${d.on}:${d.condition}`);

  it('gates the app on the migrations and the migrations on healthy data', () => {
    expect(deps('migrations')).toEqual(['postgres:healthy', 'redis:healthy']);
    expect(deps('backend')).toEqual(['migrations:completed', 'postgres:healthy', 'redis:healthy']);
    expect(deps('worker')).toEqual(['migrations:completed', 'postgres:healthy', 'redis:healthy']);
  });

  it('picks the condition of a list dependency from the target', () => {
    expect(deps('frontend')).toEqual(['backend:healthy']);
  });

  it('runs the post phase after the app is healthy', () => {
    expect(deps('migrations-post')).toEqual(['backend:healthy', 'migrations:completed']);
  });

  it('plans waves: data, pre migrations, app, post migrations and dependants, proxy', () => {
    expect(waves(g)).toEqual([
      ['postgres', 'redis'],
      ['migrations'],
      ['backend', 'worker'],
      ['frontend', 'migrations-post'],
      ['nginx'],
    ]);
  });

  it('finds no cycle in a sound stack, and prints one where there is', () => {
    expect(findCycle(g)).toBeUndefined();
    const cyclic = buildGraph(normaliseSpec({
      name: 'c',
      services: { a: { image: 'x', depends_on: ['b'] }, b: { image: 'x', depends_on: ['a'] } },
    }));
    expect(findCycle(cyclic)).toEqual(['a', 'b', 'a']);
  });
});
