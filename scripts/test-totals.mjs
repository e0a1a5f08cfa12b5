// The closing line of `npm test`: totals over every step, which add up even when a step broke.
// A test file that failed to load reports no test of its own, so it counts as one failure; a step that
// exits non-zero with no failure counted (a build, a test bed that did not start) counts as one too.
// So a failing run never prints "0 failed".

/** Creates empty totals. */
export const newTotals = () => ({ passed: 0, failed: 0, skipped: 0 });

/** Adds a vitest JSON report (or undefined when none was written) and the step's exit code. */
export function addStep(totals, code, report) {
  let failed = 0;
  if (report) {
    const unloaded = (report.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length;
    failed = report.numFailedTests + unloaded;
    totals.passed += report.numPassedTests;
    totals.skipped += report.numPendingTests + report.numTodoTests;
  }
  if (code !== 0 && failed === 0) failed = 1;
  totals.failed += failed;
  return totals;
}

/** The closing line: "N passed, N failed[, N skipped]". */
export function closingLine(totals, code) {
  const failed = code !== 0 && totals.failed === 0 ? 1 : totals.failed;
  return `${totals.passed} passed, ${failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`;
}
