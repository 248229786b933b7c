import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

/** How long a name may take to resolve before the check gives up (and refuses). */
const LOOKUP_TIMEOUT_MS = 3_000;

export type HostCheck = { ok: true; addresses: string[] } | { ok: false; reason: string };

/**
 * Resolves a URL's host and says whether every address it resolves to is a
 * public unicast address, i.e. not loopback, private (RFC 1918, unique local),
 * link-local (169.254.0.0/16 with the cloud metadata services, fe80::/10),
 * carrier-grade NAT, unspecified, multicast, broadcast or reserved. IPv4
 * addresses embedded in IPv6 (mapped, NAT64, 6to4) count as non-public too.
 *
 * Every address counts, not just the first: a name with one public and one
 * private record could send whoever fetches it to either. A name that does not
 * resolve is refused as well: the fetcher's resolver might know it when ours
 * does not (an internal zone), and nothing public is lost by asking the
 * caller for a name that resolves.
 *
 * Resolution happens now; whoever fetches the URL later resolves it again, so
 * this cannot stop DNS rebinding on its own. It stops the plain cases.
 */
export async function checkPublicHost(hostname: string): Promise<HostCheck> {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === '') return { ok: false, reason: 'the URL has no host' };
  let addresses: string[];
  if (ipaddr.isValid(host)) {
    addresses = [host];
  } else {
    let timer: NodeJS.Timeout | undefined;
    try {
      const answers = await Promise.race([
        lookup(host, { all: true, verbatim: true }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEOUT' })), LOOKUP_TIMEOUT_MS);
        }),
      ]);
      addresses = answers.map((a) => a.address);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA') return { ok: false, reason: `the host "${host}" does not resolve` };
      return { ok: false, reason: `the host "${host}" could not be resolved just now (${code ?? 'error'}); try again` };
    } finally {
      clearTimeout(timer);
    }
  }
  if (addresses.length === 0) return { ok: false, reason: `the host "${host}" does not resolve` };
  for (const address of addresses) {
    const range = rangeOf(address);
    if (range !== 'unicast') {
      const shown = address === host ? `"${host}"` : `"${host}" (${address})`;
      return { ok: false, reason: `${shown} is a ${describe(range)} address, not a public one` };
    }
  }
  return { ok: true, addresses };
}

/** True for a globally routable unicast address (the rule checkPublicHost applies to each answer). */
export function isPublicAddress(address: string): boolean {
  return ipaddr.isValid(address) && rangeOf(address) === 'unicast';
}

function rangeOf(address: string): string {
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  return parsed.range();
}

function describe(range: string): string {
  const names: Record<string, string> = {
    loopback: 'loopback',
    private: 'private',
    uniqueLocal: 'private (unique local)',
    linkLocal: 'link-local',
    carrierGradeNat: 'carrier-grade NAT',
    unspecified: 'unspecified',
    multicast: 'multicast',
    broadcast: 'broadcast',
  };
  return names[range] ?? `reserved (${range})`;
}
