import { describe, expect, test } from 'vitest';
import { encodeCausalToken } from '../token.ts';
import type { CausalTokenStore } from '../types.ts';

/** Options of `tokenStoreContract`. */
export interface TokenStoreContractOptions {
  /** Names the suite. */
  name: string;
  /** The store under test (called once per test; may return the same store). */
  store: () => CausalTokenStore;
  /** A second handle on the same data (another instance's store), to test sharing. Optional. */
  peerStore?: () => CausalTokenStore;
}

let unique = 0;
/** A key no other test of this run uses (stores may be shared across tests). */
const freshKey = (label: string) => `${label}-${Date.now().toString(36)}-${unique++}`;

/**
 * The behaviour every causal-token store must have, as a vitest suite. Run it against your own
 * store to know it is a drop-in replacement.
 *
 * @example
 * tokenStoreContract({ name: 'memory', store: () => createMemoryTokenStore() });
 */
export function tokenStoreContract(options: TokenStoreContractOptions): void {
  describe(`causal token store contract: ${options.name}`, () => {
    test('knows nothing of a user who never wrote', async () => {
      expect(await options.store().get(freshKey('never'))).toBeUndefined();
    });

    test('keeps the newer token and never goes back', async () => {
      const store = options.store();
      const key = freshKey('monotonic');
      await store.advance(key, encodeCausalToken(0x1_0000_0000n));
      expect(await store.get(key)).toBe(encodeCausalToken(0x1_0000_0000n));
      await store.advance(key, encodeCausalToken(0xffff_ffffn));
      expect(await store.get(key)).toBe(encodeCausalToken(0x1_0000_0000n));
      await store.advance(key, encodeCausalToken(0x1_0000_0010n));
      expect(await store.get(key)).toBe(encodeCausalToken(0x1_0000_0010n));
    });

    test('compares positions, not text: a longer hex is newer, case and leading zeros do not matter', async () => {
      const store = options.store();
      const key = freshKey('order');
      await store.advance(key, 'v1.ff');
      await store.advance(key, 'v1.100');
      expect(await store.get(key)).toBe('v1.100');
      await store.advance(key, 'V1.0000FF');
      expect(await store.get(key)).toBe('v1.100');
      await store.advance(key, 'v1.0A00');
      expect(await store.get(key)).toBe('v1.a00');
    });

    test('keeps users apart', async () => {
      const store = options.store();
      const [a, b] = [freshKey('a'), freshKey('b')];
      await store.advance(a, 'v1.10');
      await store.advance(b, 'v1.20');
      expect(await store.get(a)).toBe('v1.10');
      expect(await store.get(b)).toBe('v1.20');
    });

    test('refuses a value that is not a token, and keeps what it had', async () => {
      const store = options.store();
      const key = freshKey('invalid');
      await store.advance(key, 'v1.10');
      for (const bad of ['', 'v1.', 'v2.10', 'v1.xyz', '16/B374D848', `v1.${'f'.repeat(17)}`]) {
        await expect(store.advance(key, bad)).rejects.toMatchObject({ code: 'INVALID_CAUSAL_TOKEN' });
      }
      expect(await store.get(key)).toBe('v1.10');
    });

    test('concurrent advances settle on the newest', async () => {
      const store = options.store();
      const key = freshKey('race');
      const positions = Array.from({ length: 50 }, (_, index) => BigInt((index * 7919) % 50) + 1n);
      await Promise.all(positions.map((lsn) => store.advance(key, encodeCausalToken(lsn))));
      expect(await store.get(key)).toBe(encodeCausalToken(50n));
    });

    if (options.peerStore) {
      const peer = options.peerStore;
      test('another instance sees the token and cannot move it back', async () => {
        const key = freshKey('shared');
        await options.store().advance(key, 'v1.abc');
        expect(await peer().get(key)).toBe('v1.abc');
        await peer().advance(key, 'v1.abb');
        expect(await options.store().get(key)).toBe('v1.abc');
      });
    }
  });
}
