import { describe, expect, test } from 'vitest';
import {
  compareCausalTokens,
  formatLsn,
  isCausalToken,
  isDbRouterError,
  newerCausalToken,
  parseCausalToken,
  parseLsn,
} from '../src/index.ts';
import { lsnDistance } from '../src/lsn.ts';
import { decodeCausalToken, encodeCausalToken } from '../src/token.ts';

describe('LSNs', () => {
  test("parse Postgres' text form into a 64-bit position and print it back", () => {
    expect(parseLsn('0/0')).toBe(0n);
    expect(parseLsn('16/B374D848')).toBe(0x16_b374d848n);
    expect(parseLsn('16/b374d848')).toBe(0x16_b374d848n);
    expect(parseLsn('FFFFFFFF/FFFFFFFF')).toBe(0xffff_ffff_ffff_ffffn);
    expect(formatLsn(0x16_b374d848n)).toBe('16/B374D848');
    expect(formatLsn(0n)).toBe('0/0');
    expect(formatLsn(0xffff_ffff_ffff_ffffn)).toBe('FFFFFFFF/FFFFFFFF');
  });

  test('compare exactly beyond 2^53, where numbers would round', () => {
    const a = parseLsn('FFFFFFFF/FFFFFFFE') as bigint;
    const b = parseLsn('FFFFFFFF/FFFFFFFF') as bigint;
    expect(b > a).toBe(true);
    expect(Number(a) === Number(b)).toBe(true);
  });

  test('the low half is not a decimal fraction: 0/A0000000 is after 0/B', () => {
    expect((parseLsn('0/A0000000') as bigint) > (parseLsn('0/B') as bigint)).toBe(true);
    expect((parseLsn('1/0') as bigint) > (parseLsn('0/FFFFFFFF') as bigint)).toBe(true);
  });

  test('anything else is not an LSN', () => {
    for (const bad of [null, undefined, '', '16', '16/', '/1', 'G/1', '1/2/3', '123456789/0', ' 1/2', '1/2 ']) {
      expect(parseLsn(bad), String(bad)).toBeUndefined();
    }
  });

  test('distance is never negative', () => {
    expect(lsnDistance(10n, 25n)).toBe(15);
    expect(lsnDistance(25n, 10n)).toBe(0);
  });
});

describe('causal tokens', () => {
  test('are compact, versioned and round-trip', () => {
    const lsn = parseLsn('16/B374D848') as bigint;
    const token = encodeCausalToken(lsn);
    expect(token).toBe('v1.16b374d848');
    expect(parseCausalToken(token)).toBe(lsn);
    expect(encodeCausalToken(0xffff_ffff_ffff_ffffn)).toBe('v1.ffffffffffffffff');
    expect(isCausalToken(token)).toBe(true);
  });

  test('are safe in a header, a cookie value and a URL as they are', () => {
    const token = encodeCausalToken(0xffff_ffff_ffff_ffffn);
    expect(encodeURIComponent(token)).toBe(token);
    expect(token).toMatch(/^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]+$/);
  });

  test('accept any case and leading zeros', () => {
    expect(decodeCausalToken('V1.00FF')).toBe(255n);
  });

  test('refuse anything else with a typed error, and cut what they echo', () => {
    const bad = [
      '',
      'v1.',
      'v2.10',
      'v1.-1',
      'v1.1g',
      '1.10',
      '16/B374D848',
      `v1.${'0'.repeat(17)}`,
      'v1.10 ',
      42,
      null,
    ];
    for (const value of bad) {
      expect(isCausalToken(value), String(value)).toBe(false);
      let thrown: unknown;
      try {
        parseCausalToken(value);
      } catch (error) {
        thrown = error;
      }
      expect(isDbRouterError(thrown)).toBe(true);
      expect(thrown).toMatchObject({ code: 'INVALID_CAUSAL_TOKEN', name: 'InvalidCausalTokenError' });
    }
    try {
      parseCausalToken('x'.repeat(10_000));
    } catch (error) {
      expect((error as { token: string }).token).toHaveLength(64);
    }
  });

  test('the newer of two wins; invalid or missing ones are ignored', () => {
    expect(newerCausalToken('v1.ff', 'v1.100')).toBe('v1.100');
    expect(newerCausalToken('v1.100', 'v1.ff')).toBe('v1.100');
    expect(newerCausalToken('garbage', 'v1.ff')).toBe('v1.ff');
    expect(newerCausalToken('v1.ff', undefined)).toBe('v1.ff');
    expect(newerCausalToken(null, 'nope')).toBeUndefined();
    expect(compareCausalTokens('v1.ff', 'v1.100')).toBeLessThan(0);
    expect(compareCausalTokens('v1.100', 'v1.0100')).toBe(0);
    expect(compareCausalTokens('v1.101', 'v1.100')).toBeGreaterThan(0);
  });
});
