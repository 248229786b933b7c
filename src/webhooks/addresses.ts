import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { isPublicAddress } from '../net/publicHost.js';

/** Resolves a host name to every address it has (the system resolver by default). */
export type Lookup = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export const systemLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export const MAX_WEBHOOK_URL = 2048;

/** A webhook URL that may not be used; the message says what to change and never echoes the path or query. */
export class WebhookUrlError extends Error {
  constructor(
    message: string,
    /** DNS did not answer (not "no such host"): the check could not be made, which says nothing about the URL. */
    readonly temporary = false,
  ) {
    super(message);
    this.name = 'WebhookUrlError';
  }
}

export interface UrlPolicy {
  /** WEBHOOK_ALLOW_PRIVATE: plain http and loopback/private addresses allowed. */
  allowPrivate: boolean;
  lookup: Lookup;
}

/** The URL's host without IPv6 brackets. */
function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * Checks what can be checked without the network: length, scheme, no
 * credentials, a host that is not a literal private address or a local name.
 * Throws WebhookUrlError.
 */
export function parseWebhookUrl(raw: string, allowPrivate: boolean): URL {
  if (typeof raw !== 'string' || raw.length === 0) throw new WebhookUrlError('webhook must be an https URL.');
  if (raw.length > MAX_WEBHOOK_URL) {
    throw new WebhookUrlError(`webhook must be at most ${MAX_WEBHOOK_URL} characters (got ${raw.length}).`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlError('webhook is not a valid URL: send an absolute https URL such as https://example.com/hooks/genjob.');
  }
  const schemes = allowPrivate ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol)) {
    throw new WebhookUrlError(
      allowPrivate ? 'webhook must be an http or https URL.' : 'webhook must be an https URL (plain http is refused: deliveries carry your job data).',
    );
  }
  if (url.username || url.password) {
    throw new WebhookUrlError('webhook may not carry a user name or password: verify deliveries with your signing secret instead.');
  }
  if (!allowPrivate) {
    const host = hostOf(url).toLowerCase().replace(/\.$/, '');
    if (isIP(host) ? !isPublicAddress(host) : host === 'localhost' || host.endsWith('.localhost') || !host.includes('.')) {
      throw new WebhookUrlError(`webhook host ${url.hostname} is not a public address: use a host reachable from the internet.`);
    }
  }
  return url;
}

export interface ResolvedTarget {
  url: URL;
  /** The address to connect to: the one that was checked, so a second DNS answer cannot swap it (rebinding). */
  address: string;
  family: 4 | 6;
}

/**
 * Resolves the URL's host and checks every address it resolves to; returns
 * the address to connect to. Refuses the whole name when any of its
 * addresses is not public: a name that mixes public and private answers is
 * the rebinding trick itself. Throws WebhookUrlError.
 */
export async function resolveWebhookTarget(raw: string, policy: UrlPolicy): Promise<ResolvedTarget> {
  const url = parseWebhookUrl(raw, policy.allowPrivate);
  const host = hostOf(url);
  const literal = isIP(host);
  let addresses: Array<{ address: string; family: number }>;
  if (literal) {
    addresses = [{ address: host, family: literal }];
  } else {
    try {
      addresses = await policy.lookup(host);
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new WebhookUrlError(
        code === 'ENOTFOUND' || code === 'ENODATA'
          ? `webhook host ${url.hostname} does not resolve: check the host name.`
          : `webhook host ${url.hostname} could not be resolved right now (${code ?? 'DNS error'}).`,
        !(code === 'ENOTFOUND' || code === 'ENODATA'),
      );
    }
  }
  if (addresses.length === 0) throw new WebhookUrlError(`webhook host ${url.hostname} does not resolve: check the host name.`);
  if (!policy.allowPrivate) {
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused) {
      throw new WebhookUrlError(
        `webhook host ${url.hostname} resolves to ${refused.address}, which is not a public address: use a host reachable from the internet.`,
      );
    }
  }
  const chosen = addresses[0];
  return { url, address: chosen.address, family: chosen.family === 6 ? 6 : 4 };
}
