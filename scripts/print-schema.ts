// Loaded by graphql-codegen (codegen.ts): the schema is whatever Pothos builds.
export { schema as default } from '../src/schema/index.js';
