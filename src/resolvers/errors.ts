import { GraphQLError } from 'graphql';

/** The codes of the public schema (docs/http-api.md, "Errors"). */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONTENT_POLICY'
  | 'INSUFFICIENT_CREDITS'
  | 'RATE_LIMITED'
  | 'INTERNAL_SERVER_ERROR';

export const ERROR_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'CONTENT_POLICY',
  'INSUFFICIENT_CREDITS',
  'RATE_LIMITED',
  'INTERNAL_SERVER_ERROR',
]);

const HTTP_STATUS: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  CONTENT_POLICY: 400,
  INSUFFICIENT_CREDITS: 402,
  RATE_LIMITED: 429,
  INTERNAL_SERVER_ERROR: 500,
};

/**
 * An expected failure: shown to the caller as is. It is a GraphQLError so
 * yoga passes it through unmasked; the REST door maps `code` to a status.
 */
export class DomainError extends GraphQLError {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extra } });
    this.name = 'DomainError';
    this.code = code;
    this.status = HTTP_STATUS[code];
  }
}

export const badInput = (message: string, extra?: Record<string, unknown>) =>
  new DomainError('BAD_USER_INPUT', message, extra);
export const notFound = (message: string) => new DomainError('NOT_FOUND', message);
