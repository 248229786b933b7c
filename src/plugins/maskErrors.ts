import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { MaskError } from 'graphql-yoga';
import type { Logger } from 'pino';
import { isGraphQLError } from './useContractCodes.js';

/**
 * yoga's `maskedErrors` option: expected errors (DomainError, graphql-js's
 * own) pass; anything else is logged with an id and replaced by a message
 * that reveals nothing but that id.
 */
export function maskErrors(logger: Logger): { maskError: MaskError; errorMessage: string } {
  return {
    maskError(error: unknown, message: string) {
      const original = isGraphQLError(error) ? error.originalError : error;
      if (isGraphQLError(error) && (!original || isGraphQLError(original))) return error;
      const errorId = randomUUID();
      logger.error({ err: original, errorId }, 'unexpected error');
      return new GraphQLError(`${message} Try again; if it keeps happening, report error id ${errorId}.`, {
        nodes: isGraphQLError(error) ? error.nodes : undefined,
        path: isGraphQLError(error) ? error.path : undefined,
        extensions: { code: 'INTERNAL_SERVER_ERROR', errorId },
      });
    },
    errorMessage: 'Internal server error.',
  };
}
