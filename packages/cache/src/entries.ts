import { randomBytes } from 'node:crypto';
import type { ResolvedOptions, SetOptions } from './options.ts';
import type { CacheEntry } from './types.ts';

/**
 * A new entry for `value`: its TTL and grace from the call's options or the cache's (a cached
 * "not found" has its own TTL), spread by the jitter, and the tag generations it was read at.
 */
export function createEntry(
  defaults: ResolvedOptions,
  value: unknown,
  tags: readonly string[],
  gens: readonly number[],
  options: SetOptions,
): CacheEntry {
  const base =
    value === null || value === undefined
      ? (options.nullTtlMs ?? defaults.nullTtlMs ?? options.ttlMs ?? defaults.ttlMs)
      : (options.ttlMs ?? defaults.ttlMs);
  const ttl = defaults.jitter > 0 ? base * (1 + (Math.random() * 2 - 1) * defaults.jitter) : base;
  const at = defaults.now();
  return {
    id: randomBytes(6).toString('base64url'),
    value,
    freshUntil: at + ttl,
    graceUntil: at + ttl + (options.graceMs ?? defaults.graceMs),
    tags: tags.map((tag, i) => [tag, gens[i] ?? 0] as const),
  };
}
