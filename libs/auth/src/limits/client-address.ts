import { isIPv6 } from 'node:net';

/**
 * The budget key of an unauthenticated request: its client address (the TCP peer, or what a
 * trusted proxy forwarded, see TRUST_PROXY) and where it spends: `public` routes and `refused`
 * tokens count apart, so that a flood of junk tokens from an address cannot starve the public
 * routes (signed webhooks) used from the same address.
 *
 * IPv6 clients are counted by their /64 prefix: one subscriber usually holds a whole /64 and could
 * otherwise take a fresh budget with every address in it. IPv4-mapped IPv6 addresses count as IPv4.
 */
export function anonymousBudgetKey(ip: string | undefined, source: 'public' | 'refused'): string {
  return `${source}:${addressKey(ip ?? 'unknown')}`;
}

/** An IPv4 address as is; an IPv6 address as its /64 prefix (`2001:db8:1:2::/64`). */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1];
  if (!isIPv6(ip)) return ip;
  const [head, tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
