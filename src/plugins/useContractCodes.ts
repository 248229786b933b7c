import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ERROR_CODES } from '../resolvers/errors.js';

/**
 * Every GraphQL error carries one of the contract's codes: graphql-js's own
 * (parse, validation, coercion) become BAD_USER_INPUT. The websocket adapter
 * applies the same rewriting to what it sends.
 */
export function useContractCodes(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (!Array.isArray(result) && isResultWithErrors(result)) setResult(withContractCodes(result));
    },
  };
}

/**
 * Duck-typed: tools may load graphql-js twice (ESM and CommonJS copies), and
 * `instanceof` fails across the copies.
 */
export function isGraphQLError(e: unknown): e is GraphQLError {
  return e instanceof Error && 'extensions' in e && 'locations' in e && 'path' in e;
}

export function isResultWithErrors(result: unknown): result is { errors: readonly GraphQLError[] } {
  return typeof result === 'object' && result !== null && Array.isArray((result as { errors?: unknown }).errors);
}

/** The same error (message, locations, path, cause) with other `extensions`. */
export function withExtensions(error: GraphQLError, extensions: Record<string, unknown>): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions,
  });
}

/** The same error with `extensions.code` set to `code`. */
export function withCode(error: GraphQLError, code: string): GraphQLError {
  return withExtensions(error, { ...error.extensions, code });
}

export function withContractCodes<T extends { errors: readonly GraphQLError[] }>(result: T): T {
  const errors = result.errors.map((e: GraphQLError) => {
    const code = e.extensions?.code;
    return typeof code === 'string' && ERROR_CODES.has(code) ? e : withCode(e, 'BAD_USER_INPUT');
  });
  return { ...result, errors };
}
