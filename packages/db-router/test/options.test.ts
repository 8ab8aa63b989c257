import pg from 'pg';
import { describe, expect, test } from 'vitest';
import { createDbRouter, type DbRouterOptions } from '../src/index.ts';

const url = 'postgres://postgres@127.0.0.1:1/postgres';

describe('createDbRouter options', () => {
  test.each<[string, unknown]>([
    ['no primary', {}],
    ['an empty connection string', { primary: '' }],
    ['a number as primary', { primary: 5 }],
    ['replicas not an array', { primary: url, replicas: url }],
    ['an unknown policy', { primary: url, policy: 'random' }],
    ['a zero interval', { primary: url, healthCheck: { intervalMs: 0 } }],
    ['a negative timeout', { primary: url, healthCheck: { timeoutMs: -1 } }],
    ['a NaN maxLagMs', { primary: url, maxLagMs: Number.NaN }],
    ['a negative maxLagBytes', { primary: url, maxLagBytes: -5 }],
    ['a negative tokenWaitMs', { primary: url, tokenWaitMs: -1 }],
    ['a zero readTimeoutMs', { primary: url, readTimeoutMs: 0 }],
    ['an unknown invalidToken policy', { primary: url, invalidToken: 'ignore' }],
    [
      'two nodes with one name',
      { primary: { name: 'a', connectionString: url }, replicas: [{ name: 'a', connectionString: url }] },
    ],
    ['an empty node name', { primary: { name: '', connectionString: url } }],
    ['onEvent not a function', { primary: url, onEvent: 'log' }],
  ])('refuses %s with a TypeError, before opening anything', (_label, options) => {
    expect(() => createDbRouter(options as DbRouterOptions)).toThrow(TypeError);
  });

  test('a connection string that is not a postgres URL is refused at once, without echoing it (it may hold a password)', () => {
    for (const primary of ['not a url', 'user:secret@db.example/chat', 'mysql://db.example/chat']) {
      let error: unknown;
      try {
        createDbRouter({ primary });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toBe(
        "createDbRouter: the primary's connection string must be a postgres:// or postgresql:// URL (or a socket path)",
      );
      expect((error as Error).message).not.toContain('secret');
    }
    expect(() => createDbRouter({ primary: url, replicas: ['replica.example:5432'] })).toThrow(
      /the replica-1's connection string must be a postgres:\/\/ or postgresql:\/\/ URL/,
    );
  });

  test('names the problem', () => {
    expect(() => createDbRouter({ primary: url, policy: 'random' as never })).toThrow(/policy/);
  });

  test.each<[Partial<DbRouterOptions>, string]>([
    [{ healthCheck: { intervalMs: 0 } }, 'createDbRouter: `healthCheck.intervalMs` must be a whole number >= 1, got 0'],
    [{ healthCheck: { timeoutMs: -1 } }, 'createDbRouter: `healthCheck.timeoutMs` must be a whole number >= 1, got -1'],
    [{ maxLagMs: Number.NaN }, 'createDbRouter: `maxLagMs` must be a whole number >= 1, got NaN'],
    [{ maxLagMs: Number.POSITIVE_INFINITY }, 'createDbRouter: `maxLagMs` must be a whole number >= 1, got Infinity'],
    [{ maxLagBytes: -5 }, 'createDbRouter: `maxLagBytes` must be a whole number >= 1, got -5'],
    [{ tokenWaitMs: -1 }, 'createDbRouter: `tokenWaitMs` must be a whole number >= 0, got -1'],
    [{ tokenPollMs: '10' as never }, 'createDbRouter: `tokenPollMs` must be a whole number >= 1, got "10"'],
    [{ readTimeoutMs: 0 }, 'createDbRouter: `readTimeoutMs` must be a whole number >= 1, got 0'],
    // Durations are whole milliseconds, as every other package's options are.
    [{ readTimeoutMs: 1.5 }, 'createDbRouter: `readTimeoutMs` must be a whole number >= 1, got 1.5'],
  ])('a bad number says which option, what it must be and what it got: %o', (bad, message) => {
    expect(() => createDbRouter({ primary: url, ...bad })).toThrow(new TypeError(message));
  });

  test('accepts a pool it does not own and leaves it open on close', async () => {
    const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: 200 });
    // Nothing listens on port 1: the first health round marks the primary down, without rejecting.
    const router = await createDbRouter({ primary: pool, healthCheck: { timeoutMs: 500 } });
    expect(router.primary).toBe(pool);
    expect(router.stats().primary).toMatchObject({ state: 'down', healthy: false });
    expect(router.stats().primary.lastError).toMatch(/ECONNREFUSED|connect/);
    await router.close();
    expect(pool.ended).toBe(false);
    await pool.end();
    await expect(router.read('SELECT 1')).rejects.toMatchObject({ code: 'ROUTER_CLOSED' });
  });
});
