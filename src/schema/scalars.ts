import { GraphQLError, Kind } from 'graphql';
import { MAX_SEED } from '../resolvers/validateJob.js';
import { builder } from './builder.js';

const seedError = (got: unknown) =>
  new GraphQLError(`Seed must be an integer from 0 to ${MAX_SEED}, sent as a JSON number (got ${JSON.stringify(got)}).`, {
    extensions: { code: 'BAD_USER_INPUT' },
  });

function parseSeed(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_SEED) throw seedError(value);
  return value;
}

builder.scalarType('Seed', {
  description: 'An integer 0..4294967295, carried as a JSON number.',
  serialize: (v) => v,
  parseValue: parseSeed,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.INT) throw seedError((ast as { value?: unknown }).value ?? ast.kind);
    return parseSeed(Number(ast.value));
  },
});

builder.scalarType('DateTime', {
  description: 'ISO-8601 timestamp string.',
  serialize: (v) => (v instanceof Date ? v.toISOString() : v),
  parseValue: (v) => {
    if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) {
      throw new GraphQLError('DateTime must be an ISO-8601 string.', { extensions: { code: 'BAD_USER_INPUT' } });
    }
    return v;
  },
});

builder.scalarType('JSON', {
  description: 'Any JSON value.',
  serialize: (v) => v,
  parseValue: (v) => v,
});
