import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ipKey } from '../src/index.ts';

const group = fc.integer({ min: 0, max: 0xffff });
const groups = fc.array(group, { minLength: 8, maxLength: 8 });
const full = (parts: number[]) => parts.map((part) => part.toString(16).padStart(4, '0')).join(':');
// The WHATWG URL parser writes IPv6 hosts in RFC 5952 form: our oracle for the canonical text.
const canonical = (parts: number[]) => new URL(`http://[${full(parts)}]/`).hostname.slice(1, -1);

describe('ipKey', () => {
  test('IPv4 addresses and what is not an address come back as they are', () => {
    expect(ipKey('203.0.113.7')).toBe('203.0.113.7');
    expect(ipKey('unknown')).toBe('unknown');
    expect(ipKey('')).toBe('');
    expect(ipKey('2001:db8::g')).toBe('2001:db8::g');
  });

  test('an IPv4 client seen through a dual-stack socket is keyed as that IPv4 address', () => {
    expect(ipKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(ipKey('::FFFF:cb00:7107')).toBe('203.0.113.7');
    expect(ipKey('0:0:0:0:0:ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  test('the attack: fresh addresses from one /56 (or /64) all land on one key', () => {
    const attacker = ['2001:db8:0:1200::1', '2001:db8:0:12ff:ffff:ffff:ffff:ffff', '2001:db8::12ab:1:2:3:4'];
    expect(new Set(attacker.map((address) => ipKey(address)))).toEqual(new Set(['2001:db8:0:1200::/56']));
    expect(ipKey('2001:db8:0:1300::1')).toBe('2001:db8:0:1300::/56');
    expect(ipKey('2001:db8:0:1234:5678::1', { ipv6Prefix: 64 })).toBe('2001:db8:0:1234::/64');
    expect(ipKey('2001:db8::1', { ipv6Prefix: 128 })).toBe('2001:db8::1/128');
  });

  test('every spelling of one network gives one key; a zone is dropped', () => {
    const spellings = ['2001:DB8::1', '2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8:0:0::1', 'fe80::1%eth0'];
    expect(spellings.map((address) => ipKey(address, { ipv6Prefix: 128 }))).toEqual([
      '2001:db8::1/128',
      '2001:db8::1/128',
      '2001:db8::1/128',
      'fe80::1/128',
    ]);
    // An IPv4 tail on a prefix other than ::ffff:0:0/96 (NAT64) is an IPv6 address.
    expect(ipKey('64:ff9b::203.0.113.7', { ipv6Prefix: 128 })).toBe('64:ff9b::cb00:7107/128');
  });

  test('property: the key is the canonical prefix, and only bits past the prefix are ignored', () => {
    fc.assert(
      fc.property(groups, fc.integer({ min: 1, max: 128 }), fc.integer({ min: 0, max: 127 }), (parts, prefix, bit) => {
        // Not the IPv4-mapped range, which is keyed as IPv4.
        fc.pre(!(parts.slice(0, 5).every((part) => part === 0) && parts[5] === 0xffff));
        const masked = parts.map((part, index) => {
          const before = index * 16;
          if (before >= prefix) return 0;
          if (before + 16 <= prefix) return part;
          return part & (0xffff << (16 - (prefix - before))) & 0xffff;
        });
        const key = ipKey(full(parts), { ipv6Prefix: prefix });
        expect(key).toBe(`${canonical(masked)}/${prefix}`);
        const flipped = [...parts];
        flipped[bit >> 4] = (flipped[bit >> 4] as number) ^ (0x8000 >> (bit & 15));
        fc.pre(!(flipped.slice(0, 5).every((part) => part === 0) && flipped[5] === 0xffff));
        const other = ipKey(full(flipped), { ipv6Prefix: prefix });
        if (bit < prefix) expect(other).not.toBe(key);
        else expect(other).toBe(key);
      }),
      { numRuns: 2_000 },
    );
  });

  test('a prefix length that is not 1-128 is a TypeError', () => {
    for (const ipv6Prefix of [0, 129, 56.5, Number.NaN]) {
      expect(() => ipKey('::1', { ipv6Prefix })).toThrow(TypeError);
    }
  });
});
