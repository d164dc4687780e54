/**
 * Prints the plain closing line CI reads ("N passed, N failed", with skipped when any), after the
 * default reporter's own summary.
 */
import type { RunnerTask, RunnerTestFile } from 'vitest';
import type { Reporter } from 'vitest/reporters';

function walk(tasks: readonly RunnerTask[], count: { passed: number; failed: number; skipped: number }): void {
  for (const t of tasks) {
    if (t.type === 'test') {
      const state = t.result?.state;
      if (state === 'pass') count.passed++;
      else if (state === 'fail') count.failed++;
      else count.skipped++;
    } else if ('tasks' in t) walk(t.tasks, count);
  }
}

export default class SummaryReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = [], errors: unknown[] = []): void {
    const count = { passed: 0, failed: 0, skipped: 0 };
    walk(files, count);
    // A file that failed to load has no tests but is a failure all the same.
    const brokenFiles = files.filter((f) => f.result?.state === 'fail' && f.tasks.length === 0).length;
    const failed = count.failed + brokenFiles + (errors.length > 0 && count.failed === 0 ? errors.length : 0);
    console.log(`\n${count.passed} passed, ${failed} failed${count.skipped ? `, ${count.skipped} skipped` : ''}`);
  }
}
