import type { CodegenConfig } from '@graphql-codegen/cli';

const scalars = { Seed: 'number', DateTime: 'string', JSON: 'unknown' };

/**
 * `npm run codegen` prints the Pothos schema to schema.graphql (committed;
 * CI fails when it is stale), types the operations the tests use, and types
 * the web console's documents with the client preset (console/src/gql/).
 */
const config: CodegenConfig = {
  schema: './scripts/print-schema.ts',
  generates: {
    'schema.graphql': { plugins: ['schema-ast'], config: { includeDirectives: false } },
    'test/operations/generated.ts': {
      documents: ['test/operations/**/*.graphql'],
      plugins: ['typescript-operations', 'typed-document-node'],
      config: { scalars, enumsAsTypes: true },
    },
    'console/src/gql/': {
      documents: ['console/src/**/*.{ts,tsx}', '!console/src/gql/**'],
      preset: 'client',
      // Documents as plain strings: the browser needs no GraphQL parser to send them.
      config: { scalars, enumsAsTypes: true, documentMode: 'string', useTypeImports: true },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
