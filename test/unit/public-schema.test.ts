import { readFileSync } from 'node:fs';
import {
  buildSchema,
  findBreakingChanges,
  findDangerousChanges,
  GraphQLSchema,
  lexicographicSortSchema,
  printSchema,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/schema/index.js';

/**
 * The public schema is a promise to clients in the field. docs/public-schema.graphql
 * is its committed baseline (`npm run schema:baseline`); the schema the code
 * builds may add to it but never break it. Dangerous changes (a new enum
 * value, a new optional argument with a default) are allowed.
 */
const baseline = buildSchema(readFileSync('docs/public-schema.graphql', 'utf8'));

describe('the public schema baseline (docs/public-schema.graphql)', () => {
  it('the current schema breaks nothing in the baseline (restore it, or run `npm run schema:baseline -- --allow-breaking` deliberately)', () => {
    const breaking = findBreakingChanges(baseline, schema).map((c) => `${c.type}: ${c.description}`);
    expect(breaking).toEqual([]);
  });

  it('the check can fail: removing a field, or making an argument required, is reported', () => {
    const sdl = printSchema(lexicographicSortSchema(schema));
    const withoutMe = sdl.replace(/^\s+me: .*$/m, '');
    expect(withoutMe).not.toBe(sdl);
    const broken = findBreakingChanges(baseline, buildSchema(withoutMe));
    expect(broken.map((c) => c.description)).toContain('Query.me was removed.');

    const stricter = sdl.replace(/jobUpdated\(id: ID!\)/, 'jobUpdated(id: ID!, since: Int!)');
    expect(stricter).not.toBe(sdl);
    expect(findBreakingChanges(baseline, buildSchema(stricter)).map((c) => c.type)).toContain('REQUIRED_ARG_ADDED');
  });

  it('the baseline is a complete schema with the entry points clients use', () => {
    expect(baseline).toBeInstanceOf(GraphQLSchema);
    expect(Object.keys(baseline.getQueryType()!.getFields())).toEqual(expect.arrayContaining(['me', 'job', 'jobs', 'jobTypes']));
    expect(Object.keys(baseline.getMutationType()!.getFields())).toEqual(expect.arrayContaining(['queueJob', 'cancelJob']));
    expect(Object.keys(baseline.getSubscriptionType()!.getFields())).toEqual(
      expect.arrayContaining(['jobUpdated', 'myJobUpdates']),
    );
    // Dangerous changes are allowed; listed here so a reviewer sees them in the test output.
    for (const c of findDangerousChanges(baseline, schema)) console.info(`dangerous (allowed): ${c.type}: ${c.description}`);
  });
});
