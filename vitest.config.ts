import { defineConfig } from 'vitest/config';

// Two projects: fast pure-core unit tests, and end-to-end tests against a real Docker Engine + Compose.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // Docker tests share one engine; run files one after another.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          globalSetup: ['test/e2e/global-setup.ts'],
        },
      },
    ],
  },
});
