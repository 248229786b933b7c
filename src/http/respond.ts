/** JSON responses in the shapes the legacy system's clients and the fleet expect. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/**
 * The legacy system's error shape: `{ error, success: false, details, debug: { timestamp, errorType } }`.
 * `debug` may carry more keys (e.g. the allowed values); `headers` are added to the response.
 */
export function legacyError(
  status: number,
  error: string,
  details: string,
  errorType: string,
  debug: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  return json(
    { error, success: false, details, debug: { ...debug, timestamp: new Date().toISOString(), errorType } },
    status,
    headers,
  );
}
