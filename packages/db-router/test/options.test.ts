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

  test('names the problem', () => {
    expect(() => createDbRouter({ primary: url, policy: 'random' as never })).toThrow(/policy/);
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
