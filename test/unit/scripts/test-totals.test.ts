import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { addStep, closingLine, newTotals } from '../../../scripts/test-totals.mjs';

const report = (over: Record<string, unknown> = {}) => ({
  numPassedTests: 3, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0,
  testResults: [{ status: 'passed', assertionResults: [{}, {}, {}] }], ...over,
});

describe('npm test totals', () => {
  it('adds passed and failed tests over steps', () => {
    const t = newTotals();
    addStep(t, 0, report());
    addStep(t, 1, report({ numPassedTests: 1, numFailedTests: 2 }));
    expect(closingLine(t, 1)).toBe('4 passed, 2 failed');
  });
  it('counts a test file that failed to load as a failure', () => {
    const t = newTotals();
    addStep(t, 1, report({ testResults: [{ status: 'passed', assertionResults: [{}, {}, {}] }, { status: 'failed', assertionResults: [] }] }));
    expect(closingLine(t, 1)).toBe('3 passed, 1 failed');
  });
  it('counts a step that failed without a report (build, test bed) as a failure', () => {
    const t = newTotals();
    addStep(t, 0, report());
    addStep(t, 2, undefined);
    expect(closingLine(t, 1)).toBe('3 passed, 1 failed');
  });
  it('never prints 0 failed for a run that exits non-zero', () => {
    const t = newTotals();
    addStep(t, 0, report());
    expect(closingLine(t, 1)).toBe('3 passed, 1 failed');
    expect(closingLine(t, 0)).toBe('3 passed, 0 failed');
  });
  it('shows skipped tests', () => {
    const t = newTotals();
    addStep(t, 0, report({ numPendingTests: 2 }));
    expect(closingLine(t, 0)).toBe('3 passed, 0 failed, 2 skipped');
  });
});
