import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { resolveWebhookTarget, WebhookUrlError, type UrlPolicy } from './addresses.js';

/** Bytes of a receiver's answer that are read (and dropped); a longer answer is cut off. */
export const RESPONSE_CAP_BYTES = 64 * 1024;

export interface SendResult {
  /** HTTP status of the answer; null when there was none. */
  status: number | null;
  /** Why the attempt failed, for people; null on a 2xx. Names the host at most, never the path, query or secrets. */
  error: string | null;
}

export interface Sender {
  send(url: string, headers: Record<string, string>, body: string, signal?: AbortSignal): Promise<SendResult>;
  close(): void;
}

export interface SenderOptions extends UrlPolicy {
  /** A receiver that has not answered (status and body) within this many ms counts as no answer. */
  timeoutMs: number;
}

/**
 * POSTs deliveries. Each send resolves the host and checks every address
 * (unless private addresses are allowed), then connects to the address it
 * checked — not to whatever a second DNS query would say — so a name that
 * rebinds to a private address between check and connect gets nowhere. TLS
 * still verifies the certificate against the host name. Redirects are never
 * followed (a 3xx is a failed attempt), and at most RESPONSE_CAP_BYTES of an
 * answer are read.
 */
export function createSender(opts: SenderOptions): Sender {
  // Kept-alive connections save the TCP and TLS handshakes on busy receivers.
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 32 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 32 }),
  };

  async function send(raw: string, headers: Record<string, string>, body: string, signal?: AbortSignal): Promise<SendResult> {
    let target;
    try {
      target = await resolveWebhookTarget(raw, opts);
    } catch (err) {
      if (err instanceof WebhookUrlError) return { status: null, error: `refused: ${err.message}` };
      throw err;
    }
    const { url, address, family } = target;
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      let answered: SendResult | undefined;
      const finish = (result: SendResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const req = transport.request({
        agent: agents[url.protocol as 'http:' | 'https:'],
        protocol: url.protocol,
        host: address,
        family,
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        // SNI and certificate check against the name, not the address (never an IP: SNI forbids it).
        servername: isIP(host) ? undefined : host,
        headers: {
          host: url.host,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'genjob-webhooks/1',
          ...headers,
        },
      });
      const timer = setTimeout(() => {
        req.destroy();
        // A status that came in time counts, even if the body did not finish.
        finish(answered ?? { status: null, error: `no answer within ${opts.timeoutMs / 1000} s` });
      }, opts.timeoutMs);
      const onAbort = () => {
        req.destroy();
        finish({ status: null, error: 'aborted: the server was stopping' });
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err: NodeJS.ErrnoException) => finish({ status: null, error: `could not connect to ${url.host}: ${err.code ?? err.message}` }));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const result: SendResult =
          status >= 200 && status < 300
            ? { status, error: null }
            : status >= 300 && status < 400
              ? { status, error: `answered ${status} (a redirect): redirects are not followed; use the final URL as the webhook` }
              : { status, error: `answered ${status}` };
        answered = result;
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > RESPONSE_CAP_BYTES) {
            res.destroy();
            finish(result);
          }
        });
        res.on('end', () => finish(result));
        res.on('error', () => finish(result));
        res.on('close', () => finish(result));
      });
      req.end(body);
    });
  }

  return {
    send,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
