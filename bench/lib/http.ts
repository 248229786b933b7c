import http from 'node:http';

export interface HttpAnswer {
  status: number;
  text: string;
}

/** One request over node:http (keep-alive through `agent`), the whole body read as text. */
export function request(
  agent: http.Agent | false,
  url: URL,
  method: string,
  headers: Record<string, string>,
  body?: string,
  timeoutMs = 30_000,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const answer = await request(false, new URL(url), 'GET', headers);
  if (answer.status !== 200) throw new Error(`GET ${url}: HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
  return JSON.parse(answer.text) as T;
}
