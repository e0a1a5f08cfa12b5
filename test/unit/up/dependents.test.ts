import { describe, expect, it } from 'vitest';
import { dependents } from '../../../src/up/dependents.js';
import { buildPlan } from '../../../src/up/plan.js';
import { demoSpec } from './demo-spec.js';

describe('dependents', () => {
  const plan = buildPlan(demoSpec);
  it.each([
    ['migrations', ['backend', 'worker', 'migrations-post', 'nginx']],
    ['backend', ['migrations-post', 'nginx']],
    ['nginx', []],
  ])('what waits on %s, directly or not', (service, want) => expect(dependents(plan, service)).toEqual(want));
});
