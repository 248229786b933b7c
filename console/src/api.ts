import { createClient, type Client } from 'graphql-ws';
import type { TypedDocumentString } from './gql/graphql.js';

/** An error the API answered with (or a transport failure), in words a person can act on. */
export class ApiError extends Error {
  /** The contract's `extensions.code`, e.g. BAD_USER_INPUT; NETWORK when the API could not be reached. */
  readonly code: string;
  /** The input field the API named (`extensions.field`), e.g. "prompt" or "references[0].type". */
  readonly field?: string;
  constructor(message: string, code: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.field = field;
  }
}

interface GraphQLErrorShape {
  message: string;
  extensions?: { code?: string; field?: string };
}

function toApiError(errors: readonly GraphQLErrorShape[]): ApiError {
  const [first] = errors;
  return new ApiError(first?.message ?? 'The API answered with an error.', first?.extensions?.code ?? 'UNKNOWN', first?.extensions?.field);
}

/** Talks to the public GraphQL API of the origin that served the console, as one token. */
export interface Api {
  request<R, V>(doc: TypedDocumentString<R, V>, variables?: V): Promise<R>;
  /** One graphql-ws connection, re-opened forever after drops; `onConnected` runs after every (re)connection. */
  ws: Client;
  close(): void;
}

export function createApi(token: string, hooks: { onConnected(): void; onSocketError(error: ApiError): void }): Api {
  const auth = token ? `Bearer ${token}` : '';
  const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  const ws = createClient({
    url: wsUrl,
    connectionParams: auth ? { authorization: auth } : {},
    lazy: false,
    // A console left open should survive server restarts and network drops.
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    retryWait: async (retries) => {
      await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** retries, 10_000) * (0.75 + Math.random() / 2)));
    },
    // Pings notice a half-open connection (laptop sleep, network switch) within seconds.
    keepAlive: 10_000,
    on: {
      connected: () => hooks.onConnected(),
      closed: (event) => {
        const e = event as CloseEvent | undefined;
        // 4403/4401: the server refused the token; the subscription error says why.
        if (e && (e.code === 4401 || e.code === 4403)) hooks.onSocketError(new ApiError(e.reason || 'The API token was refused.', 'UNAUTHENTICATED'));
      },
    },
  });

  return {
    ws,
    close: () => void ws.dispose(),
    async request<R, V>(doc: TypedDocumentString<R, V>, variables?: V): Promise<R> {
      let res: Response;
      try {
        res = await fetch('/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...(auth ? { authorization: auth } : {}) },
          body: JSON.stringify({ query: doc.toString(), variables: variables ?? {} }),
        });
      } catch {
        throw new ApiError('The API cannot be reached: check that the server is running and your network is up, then try again.', 'NETWORK');
      }
      let body: { data?: R | null; errors?: GraphQLErrorShape[] };
      try {
        body = (await res.json()) as typeof body;
      } catch {
        throw new ApiError(`The API answered HTTP ${res.status} without a GraphQL result; try again in a moment.`, 'NETWORK');
      }
      if (body.errors?.length) throw toApiError(body.errors);
      if (!body.data) throw new ApiError(`The API answered HTTP ${res.status} without data; try again in a moment.`, 'NETWORK');
      return body.data;
    },
  };
}

/** Runs a subscription until `stop()` or its end; errors (e.g. an expired token) go to `onError`. */
export function subscribe<R, V>(
  api: Api,
  doc: TypedDocumentString<R, V>,
  variables: V,
  handlers: { data(data: R): void; error(error: ApiError): void; complete?(): void },
): () => void {
  const onData = handlers.data;
  const onError = handlers.error;
  return api.ws.subscribe<R>(
    { query: doc.toString(), variables: variables as Record<string, unknown> },
    {
      next: (result) => {
        if (result.errors?.length) onError(toApiError(result.errors as GraphQLErrorShape[]));
        else if (result.data) onData(result.data as R);
      },
      error: (err) => {
        if (Array.isArray(err)) onError(toApiError(err as GraphQLErrorShape[]));
        // Drops are retried by the client forever; only a refusal the client will not retry ends up here.
        else {
          const code = (err as { code?: number } | null)?.code;
          onError(new ApiError(`Live updates stopped${code ? ` (the connection closed with code ${code})` : ''}: reload the page to resume them.`, 'NETWORK'));
        }
      },
      complete: () => handlers.complete?.(),
    },
  );
}
