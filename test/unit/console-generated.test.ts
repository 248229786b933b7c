import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import config from '../../codegen.js';
import { schema } from '../../src/schema/index.js';

describe("the console's generated GraphQL types", () => {
  it('are what `npm run codegen` makes of its documents and the schema now', { timeout: 60_000 }, async () => {
    const target = 'console/src/gql/';
    // The schema as the server builds it (codegen.ts loads the same through tsx).
    const files = await generate({ ...config, schema: printSchema(schema), generates: { [target]: config.generates[target]! } }, false);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      expect(readFileSync(join(process.cwd(), file.filename), 'utf8'), `${file.filename} is stale: run npm run codegen`).toBe(file.content);
    }
  });
});
