import { defineConfig } from 'vitest/config';

const shared = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
  globalSetup: ['test/globalSetup.ts'],
};

/**
 * Two projects. `embedded` runs everything on the embedded defaults (PGlite,
 * in-process queue and pubsub, local disk); the backend suites in
 * test/integration test both implementations of each seam themselves.
 * `production` runs the end-to-end suites again on the machine's PostgreSQL
 * and Redis and a real S3-protocol server started by the tests.
 */
export default defineConfig({
  test: {
    projects: [
      { test: { ...shared, name: 'embedded', include: ['test/**/*.test.ts'], env: { TEST_BACKEND: 'embedded' } } },
      { test: { ...shared, name: 'production', include: ['test/e2e/**/*.test.ts'], env: { TEST_BACKEND: 'production' } } },
    ],
  },
});
