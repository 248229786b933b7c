import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * `npm run codegen` prints the Pothos schema to schema.graphql (committed;
 * CI fails when it is stale) and types the operations the tests use.
 */
const config: CodegenConfig = {
  schema: './scripts/print-schema.ts',
  documents: ['test/operations/**/*.graphql'],
  generates: {
    'schema.graphql': { plugins: ['schema-ast'], config: { includeDirectives: false } },
    'test/operations/generated.ts': {
      plugins: ['typescript-operations', 'typed-document-node'],
      config: { scalars: { Seed: 'number', DateTime: 'string', JSON: 'unknown' }, enumsAsTypes: true },
    },
  },
};

export default config;
