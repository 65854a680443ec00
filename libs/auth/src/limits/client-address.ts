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

/** An IPv4 address as is (IPv4-mapped IPv6 too, in either notation); an IPv6 address as its /64 prefix (`2001:db8:1:2::/64`). */
export function addressKey(ip: string): string {
  if (!isIPv6(ip)) return ip;
  const groups = ipv6Groups(ip);
  // ::ffff:a.b.c.d and ::ffff:xxxx:yyyy are IPv4 clients.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail as two groups, any zone id dropped). */
function ipv6Groups(ip: string): number[] {
  const address = ip.split('%')[0];
  const toGroups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const [a, b, c, d] = g.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const left = toGroups(head);
  if (tail === undefined) return left;
  const right = toGroups(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}
