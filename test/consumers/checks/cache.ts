import { strictEqual } from 'node:assert/strict';
import { createCache } from '@switchboard/cache';

export async function check(): Promise<void> {
  const cache = createCache({ ttlMs: 60_000 });
  await cache.set('user:1', { name: 'Ada' });
  strictEqual((await cache.get<{ name: string }>('user:1'))?.name, 'Ada');
  let fetches = 0;
  const load = () => {
    fetches += 1;
    return 'fetched';
  };
  strictEqual(await cache.getOrSet('user:2', load, { tags: ['users'] }), 'fetched');
  strictEqual(await cache.getOrSet('user:2', load, { tags: ['users'] }), 'fetched');
  strictEqual(fetches, 1);
  await cache.deleteByTag('users');
  strictEqual(await cache.get('user:2'), undefined);
  await cache.close();
}
