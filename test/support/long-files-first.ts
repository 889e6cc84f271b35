import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that take longest (they start processes, pay an initdb, or replay thousands of events), started
 * before the rest: with two workers, a long file started last is the run's tail, and a run with no
 * record of earlier durations (a clean clone, CI) orders files by size, which puts these late.
 */
const LONG_FILES = [
  'test/slack/leak-watch-load.test.ts',
  'test/cli/cli.test.ts',
  'test/slack/slack-failures.test.ts',
  'test/scheduler/notice-job.test.ts',
];

export class LongFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification) => {
      const index = LONG_FILES.indexOf(relative(file.project.config.root, file.moduleId));
      return index < 0 ? LONG_FILES.length : index;
    };
    // Array.prototype.sort is stable: the rest keep vitest's own order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
