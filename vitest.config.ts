import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration suites start real servers; two cores run two files at a time.
    maxWorkers: 2,
    fileParallelism: true,
    // In-process servers log only errors; child processes get their own level (tests/helpers/pipeline.ts).
    env: { QINGCHENG_LOG: 'error' },
  },
});
