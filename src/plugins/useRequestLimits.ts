import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isCompositeType,
  isListType,
  Kind,
  NoSchemaIntrospectionCustomRule,
  parse,
  valueFromAST,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { readLimited } from '../http/body.js';
import { withExtensions } from './useContractCodes.js';

/** The GraphQL request limits (http-contract.md "Added 2026-11-29"); the README's "Limits" section lists them. */
export interface RequestLimits {
  /** Largest HTTP body of a GraphQL request, in bytes. */
  maxBodyBytes: number;
  /** Largest document (the `query` text), in UTF-8 bytes. */
  maxDocumentBytes: number;
  maxTokens: number;
  /** Deepest selection nesting; `__schema` introspection is not counted. */
  maxDepth: number;
  maxAliases: number;
  /** Budget of {@link operationCost}. */
  maxCost: number;
  /** `__schema`/`__type` introspection and "Did you mean" suggestions. */
  introspection: boolean;
}

export const DEFAULT_LIMITS: Omit<RequestLimits, 'maxCost' | 'introspection'> = Object.freeze({
  maxBodyBytes: 1024 * 1024,
  maxDocumentBytes: 32 * 1024,
  maxTokens: 2000,
  maxDepth: 12,
  maxAliases: 30,
});

/**
 * An error for a request refused by a limit: BAD_USER_INPUT, HTTP 400 (yoga
 * takes the status from `extensions.http` and does not send that key), the
 * limit's name and value in the message and in `extensions`.
 */
export function limitError(message: string, limit: string, value: number, found?: number): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'BAD_USER_INPUT', limit, max: value, ...(found === undefined ? {} : { found }), http: { status: 400 } },
  });
}

/**
 * Refuses oversized or overly expensive GraphQL requests before anything runs:
 * the body before it is parsed (and before the token is checked), the
 * document before and while it is parsed, depth and aliases at validation,
 * and the cost once the variables are known, before execution. Applies to
 * HTTP, SSE and graphql-ws alike (the websocket server uses yoga's enveloped
 * parse, validate, execute and subscribe).
 */
export function useRequestLimits(limits: RequestLimits): Plugin {
  const rules: ValidationRule[] = [
    maxDepthRule({
      n: limits.maxDepth,
      ignoreIntrospection: true,
      flattenFragments: true,
      propagateOnRejection: false,
      onReject: [reportAsLimit('maxDepth', limits.maxDepth)],
    }),
    maxAliasesRule({ n: limits.maxAliases, propagateOnRejection: false, onReject: [reportAsLimit('maxAliases', limits.maxAliases)] }),
  ];
  if (!limits.introspection) rules.push(NoSchemaIntrospectionCustomRule);

  const checkCost = (args: ExecutionArgs, stop: (result: { errors: GraphQLError[] }) => void) => {
    const refusal = costRefusal(args, limits.maxCost);
    if (refusal) stop({ errors: [refusal] });
  };

  return {
    onRequestParse({ request, requestParser, setRequestParser, endResponse }) {
      if (request.method !== 'POST' || !requestParser) return;
      const declared = Number(request.headers.get('content-length') ?? '0');
      if (declared > limits.maxBodyBytes) return endResponse(bodyTooLarge(limits.maxBodyBytes, declared));
      // Read at most the limit, then hand yoga's own parser (JSON, multipart,
      // form) a copy of the bytes; a larger body is never buffered.
      setRequestParser(async (req) => {
        const body = await readLimited(req, limits.maxBodyBytes);
        if (!body) return bodyTooLarge(limits.maxBodyBytes);
        return requestParser(new Request(req.url, { method: req.method, headers: req.headers, body }));
      });
    },
    onParse({ params, setParseFn }) {
      const source = typeof params.source === 'string' ? params.source : params.source.body;
      const bytes = Buffer.byteLength(source, 'utf8');
      if (bytes > limits.maxDocumentBytes) {
        throw limitError(
          `The GraphQL document is ${bytes} bytes, over the limit of ${limits.maxDocumentBytes} bytes: send a smaller query (persist long ones as several requests).`,
          'maxDocumentBytes',
          limits.maxDocumentBytes,
          bytes,
        );
      }
      // graphql-js stops counting (and parsing) at maxTokens, which also
      // bounds nesting, so a very deep document never reaches recursion.
      setParseFn((src, options) => {
        try {
          return parse(src, { ...options, maxTokens: limits.maxTokens });
        } catch (err) {
          if (err instanceof Error && /more tha[nt] \d+ tokens/.test(err.message)) {
            throw limitError(
              `The GraphQL document has more than ${limits.maxTokens} tokens, the limit: send a smaller query.`,
              'maxTokens',
              limits.maxTokens,
            );
          }
          throw err;
        }
      });
    },
    onValidate({ addValidationRule }) {
      for (const rule of rules) addValidationRule(rule);
      if (limits.introspection) return;
      return ({ valid, result, setResult }) => {
        if (!valid) setResult(result.map((e) => (e instanceof GraphQLError ? withoutSuggestions(e) : e)));
      };
    },
    onExecute({ args, setResultAndStopExecution }) {
      checkCost(args, setResultAndStopExecution);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      checkCost(args, setResultAndStopExecution);
    },
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || !isResult(result) || !result.errors) return;
      let errors = result.errors;
      // Yoga answers validation errors with 200 on application/json; a refusal by a limit is a 400.
      if (errors.some((e) => e.extensions?.limit !== undefined)) errors = errors.map(withStatus400);
      // Variable coercion errors ("Value … does not exist in … enum. Did you mean …?") come after validation.
      if (!limits.introspection) errors = errors.map(withoutSuggestions);
      if (errors !== result.errors) setResult({ ...result, errors });
    },
  };
}

/** The error an operation over the cost budget is refused with, or null when it is within it. */
export function costRefusal(args: ExecutionArgs, maxCost: number): GraphQLError | null {
  const cost = operationCost(args.schema, args.document, args.operationName ?? undefined, args.variableValues ?? {});
  if (cost <= maxCost) return null;
  return limitError(
    `This operation costs ${cost}, over the budget of ${maxCost} per request: ask for fewer items (lower "first"), fewer fields or fewer aliases, or split it into several requests.`,
    'maxCost',
    maxCost,
    cost,
  );
}

/**
 * Armor's handler for a rejection: report it as a limit error (armor's own
 * error would be a "Syntax Error" thrown out of validation).
 */
function reportAsLimit(limit: 'maxDepth' | 'maxAliases', max: number) {
  return (context: ValidationContext | null, err: GraphQLError) => {
    const found = Number(/found (\d+)/.exec(err.message)?.[1]);
    const message =
      limit === 'maxDepth'
        ? `The operation is nested ${found} levels deep, over the limit of ${max}: ask for less deeply nested fields.`
        : `The operation has ${found} aliases, over the limit of ${max}: use fewer aliases, or split it into several requests.`;
    context?.reportError(limitError(message, limit, max, found));
  };
}

function withStatus400(error: GraphQLError): GraphQLError {
  return withExtensions(error, { ...error.extensions, http: { status: 400 } });
}

function withoutSuggestions<E extends GraphQLError>(error: E): E {
  if (!/Did you mean/.test(error.message)) return error;
  const message = error.message.replace(/\s*Did you mean [^?]*\?/g, '').trim();
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  }) as E;
}

function isResult(value: unknown): value is { errors?: readonly GraphQLError[] } {
  return typeof value === 'object' && value !== null && !(Symbol.asyncIterator in value);
}

/**
 * Sizes assumed for list fields that take no `first` argument. A connection's
 * `edges` are sized by the connection's own `first`, so they count once here.
 */
export const LIST_SIZES: Readonly<Record<string, number>> = Object.freeze({
  'JobConnection.edges': 1,
  'Job.assets': 6,
  'Job.references': 5,
  'Job.webhookDeliveries': 10,
  'Query.jobTypes': 10,
  'Query.queues': 2,
});
export const DEFAULT_LIST_SIZE = 10;
/** `first` values above this count as this (the API refuses them anyway). */
const MAX_FIRST = 1000;

/**
 * The cost of an operation: every field that returns an object (or a list of
 * objects) costs 1 each time it is resolved; scalar fields and `__`-prefixed
 * fields cost nothing. A field with a `first` argument resolves what is below
 * it `first` times (its default when not given; a variable's value when one is
 * used); any other list field resolves its items LIST_SIZES times (or 10).
 * Fragments count wherever they are spread; @skip/@include are ignored (the
 * price of the worst case).
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown>,
): number {
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  if (!operation) return 0;
  const fragments = new Map(
    document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])),
  );
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;

  const walk = (set: SelectionSetNode, parent: GraphQLCompositeType, depth: number): number => {
    if (depth > 64) return 0; // validated documents are far shallower; a guard, not a rule
    let total = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        if (type && isCompositeType(type)) total += walk(selection.selectionSet, type, depth + 1);
        continue;
      }
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        const type = fragment && schema.getType(fragment.typeCondition.name.value);
        if (fragment && type && isCompositeType(type)) total += walk(fragment.selectionSet, type, depth + 1);
        continue;
      }
      const name = selection.name.value;
      if (name.startsWith('__') || !('getFields' in parent)) continue;
      const field = parent.getFields()[name];
      if (!field) continue;
      const named = getNamedType(field.type);
      if (!isCompositeType(named) || !selection.selectionSet) continue;
      let times = 1;
      const firstArg = field.args.find((a) => a.name === 'first');
      if (firstArg) {
        const node = selection.arguments?.find((a) => a.name.value === 'first');
        const value = node ? valueFromAST(node.value, firstArg.type, variables) : firstArg.defaultValue;
        times = typeof value === 'number' && Number.isFinite(value) ? Math.min(Math.max(value, 0), MAX_FIRST) : 1;
      } else if (isListType(getNullableType(field.type))) {
        times = LIST_SIZES[`${parent.name}.${name}`] ?? DEFAULT_LIST_SIZE;
      }
      total += times * (1 + walk(selection.selectionSet, named, depth + 1));
    }
    return total;
  };
  return walk(operation.selectionSet, root, 0);
}

function bodyTooLarge(max: number, declared?: number): Response {
  const size = declared === undefined ? 'over' : `${declared} bytes, over`;
  const body = {
    errors: [
      {
        message: `The request body is ${size} the limit of ${max} bytes (1 MiB): send a smaller request.`,
        extensions: { code: 'BAD_USER_INPUT', limit: 'maxBodyBytes', max },
      },
    ],
  };
  // The rest of the body stays unread, so this connection cannot carry another request.
  return new Response(JSON.stringify(body), {
    status: 400,
    headers: { 'content-type': 'application/json; charset=utf-8', connection: 'close' },
  });
}
