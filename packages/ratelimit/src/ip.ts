import { isIPv4, isIPv6 } from 'node:net';
import { wholeNumberOption } from '@switchboard/hot-path';

export interface IpKeyOptions {
  /**
   * IPv6 addresses are keyed by their first this many bits: one subscriber usually holds a whole
   * /64 (often a /56 or /48) and can pick a fresh address in it for every request, so a limit
   * per full address limits nothing. @default 56
   */
  ipv6Prefix?: number;
}

/**
 * The rate-limit key of a client address: IPv4 as it is, IPv4-mapped IPv6 (`::ffff:1.2.3.4`,
 * what a dual-stack server reports for IPv4 clients) as the IPv4 address, other IPv6 addresses
 * as their network prefix in canonical form (`2001:db8:0:1200::/56`), so that every spelling of
 * one network gives one key. Anything that is not an IP address comes back unchanged.
 *
 * @example
 * limiter.consume(ipKey(request.socket.remoteAddress ?? 'unknown'));
 */
export function ipKey(address: string, options: IpKeyOptions = {}): string {
  const prefix = wholeNumberOption('ipKey', 'ipv6Prefix', options.ipv6Prefix ?? 56, { min: 1, max: 128 });
  if (typeof address !== 'string') return address;
  if (isIPv4(address)) return address;
  // A zone (fe80::1%eth0) names the interface, not the host.
  const bare = address.includes('%') ? address.slice(0, address.indexOf('%')) : address;
  if (!isIPv6(bare)) return address;
  const groups = ipv6Groups(bare);
  // ::ffff:a.b.c.d is an IPv4 client seen through a dual-stack socket.
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  const kept = groups.map((group, index) => {
    const bitsBefore = index * 16;
    if (bitsBefore >= prefix) return 0;
    if (bitsBefore + 16 <= prefix) return group;
    return group & (0xffff << (16 - (prefix - bitsBefore))) & 0xffff;
  });
  return `${canonical(kept)}/${prefix}`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing IPv4 part split). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - left.length - right.length;
  return [...left, ...Array.from({ length: rest === undefined ? 0 : missing }, () => '0'), ...right].map((group) =>
    Number.parseInt(group, 16),
  );
}

/** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups as `::`. */
function canonical(groups: number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; ) {
    if (groups[start] !== 0) {
      start++;
      continue;
    }
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
