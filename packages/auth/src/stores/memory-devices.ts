import type { DeviceTokenStore } from '../types.ts';

interface MemoryDeviceToken {
  userId: string;
  expiresAt: Date;
  failures: number;
}

/**
 * Device tokens in process memory: exact (every call runs synchronously), gone on restart. For
 * tests and single-instance deployments; use the Postgres store otherwise.
 */
export function createMemoryDeviceTokenStore(): DeviceTokenStore {
  // Per user, token hash → token, in the order issued (a Map keeps insertion order): the first
  // entry is the oldest, the one the cap drops.
  const byUser = new Map<string, Map<string, MemoryDeviceToken>>();

  const live = (tokenHash: string, userId: string, now: Date) => {
    const token = byUser.get(userId)?.get(tokenHash);
    return token && token.expiresAt > now ? token : undefined;
  };
  const remove = (tokenHash: string, userId: string) => {
    const tokens = byUser.get(userId);
    tokens?.delete(tokenHash);
    if (tokens?.size === 0) byUser.delete(userId);
  };

  return {
    async add({ tokenHash, userId, createdAt, expiresAt }, maxPerUser) {
      let tokens = byUser.get(userId);
      if (!tokens) {
        tokens = new Map();
        byUser.set(userId, tokens);
      }
      tokens.set(tokenHash, { userId, expiresAt, failures: 0 });
      for (const [hash, token] of tokens) if (token.expiresAt <= createdAt) tokens.delete(hash);
      for (const hash of tokens.keys()) {
        if (tokens.size <= maxPerUser) break;
        tokens.delete(hash);
      }
    },
    async verify(tokenHash, userId, now) {
      return live(tokenHash, userId, now) !== undefined;
    },
    async recordFailure(tokenHash, userId, now, maxFailures) {
      const token = live(tokenHash, userId, now);
      if (!token) return 'unknown';
      token.failures++;
      if (token.failures < maxFailures) return 'counted';
      remove(tokenHash, userId);
      return 'revoked';
    },
    async revokeAllForUser(userId) {
      const count = byUser.get(userId)?.size ?? 0;
      byUser.delete(userId);
      return count;
    },
  };
}
