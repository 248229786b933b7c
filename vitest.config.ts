import { defineConfig } from 'vitest/config';

/**
 * Vite would resolve `graphql` to its ESM build (index.mjs) for our sources
 * while the packages Node loads itself (graphql-ws, yoga, Pothos) get the CJS
 * build: two GraphQLError classes, so `instanceof` checks across that line
 * fail in tests only. Resolve it the way Node (tsx, production) does.
 */
const resolve = { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] };

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
      { resolve, test: { ...shared, name: 'embedded', include: ['test/**/*.test.ts'], env: { TEST_BACKEND: 'embedded' } } },
      { resolve, test: { ...shared, name: 'production', include: ['test/e2e/**/*.test.ts'], env: { TEST_BACKEND: 'production' } } },
    ],
  },
});
