import { describe, expect, test } from 'vitest';
import { createMemoryTokenStore } from '../src/index.ts';
import { tokenStoreContract } from '../src/testing.ts';

const shared = createMemoryTokenStore();
tokenStoreContract({ name: 'memory', store: () => shared, peerStore: () => shared });

describe('createMemoryTokenStore', () => {
  test('forgets a token after ttlMs', async () => {
    let clock = 0;
    const store = createMemoryTokenStore({ ttlMs: 1_000, now: () => clock });
    await store.advance('u', 'v1.10');
    clock = 999;
    expect(await store.get('u')).toBe('v1.10');
    clock = 1_000;
    expect(await store.get('u')).toBeUndefined();
    // An expired token no longer blocks an older one.
    await store.advance('u', 'v1.5');
    expect(await store.get('u')).toBe('v1.5');
  });

  test('holds at most maxEntries users, dropping the least recently written', async () => {
    const store = createMemoryTokenStore({ maxEntries: 2 });
    await store.advance('a', 'v1.1');
    await store.advance('b', 'v1.1');
    await store.advance('a', 'v1.2');
    await store.advance('c', 'v1.1');
    expect(await store.get('b')).toBeUndefined();
    expect(await store.get('a')).toBe('v1.2');
    expect(await store.get('c')).toBe('v1.1');
  });

  test('refuses bad options', () => {
    expect(() => createMemoryTokenStore({ ttlMs: 0 })).toThrow(
      new TypeError('createMemoryTokenStore: `ttlMs` must be a whole number >= 1, got 0'),
    );
    expect(() => createMemoryTokenStore({ ttlMs: 0.5 })).toThrow(
      new TypeError('createMemoryTokenStore: `ttlMs` must be a whole number >= 1, got 0.5'),
    );
    expect(() => createMemoryTokenStore({ maxEntries: 1.5 })).toThrow(
      new TypeError('createMemoryTokenStore: `maxEntries` must be a whole number >= 1, got 1.5'),
    );
  });
});
