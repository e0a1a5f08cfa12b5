import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// What scripts/build.mjs puts in the bundle, so in-process CLI tests see the same `--version`.
const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

// Two projects: fast pure-core unit tests, and end-to-end tests against a real Docker Engine + Compose.
const define = { __PHASE_COMPOSE_VERSION__: JSON.stringify(version) };

export default defineConfig({
  test: {
    projects: [
      {
        define,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        define,
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
      {
        define,
        test: {
          // The Kubernetes test bed (scripts/kube-testbed.sh): run once, not per Docker stack.
          name: 'kube',
          include: ['test/kube/**/*.kube.test.ts'],
          environment: 'node',
          testTimeout: 600_000,
          hookTimeout: 600_000,
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
