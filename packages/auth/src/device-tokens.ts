import { createHash, randomBytes } from 'node:crypto';
import { wholeNumberOption } from '@switchboard/hot-path';
import type { DeviceFailureOutcome, DeviceTokenStore } from './types.ts';

/** The device-token half of `Auth` (see there). */
export interface DeviceTokens {
  issueDeviceToken(userId: string): Promise<string>;
  verifyDeviceToken(token: string, userId: string): Promise<boolean>;
  recordDeviceFailure(token: string, userId: string): Promise<DeviceFailureOutcome>;
  revokeDeviceTokens(userId: string): Promise<number>;
}

export interface DeviceTokenSettings {
  store: DeviceTokenStore;
  ttlMs: number;
  maxPerUser: number;
  maxFailures: number;
}

const DEVICE_PREFIX = 'dt_';
const MAX_DEVICE_TOKEN_LENGTH = 100;

/** Resolves and checks the device-token options of `createAuth`; bad values throw TypeError. */
export function resolveDeviceTokenSettings(
  store: DeviceTokenStore,
  options: { deviceTokenTtlMs?: number; maxDeviceTokensPerUser?: number; deviceTokenMaxFailures?: number },
): DeviceTokenSettings {
  const ttlMs = options.deviceTokenTtlMs ?? 365 * 24 * 3_600_000;
  if (!(Number.isFinite(ttlMs) && ttlMs > 0)) throw new TypeError(`deviceTokenTtlMs must be > 0, got ${ttlMs}`);
  const maxPerUser = wholeNumberOption('createAuth', 'maxDeviceTokensPerUser', options.maxDeviceTokensPerUser ?? 20, {
    min: 1,
  });
  const maxFailures = wholeNumberOption('createAuth', 'deviceTokenMaxFailures', options.deviceTokenMaxFailures ?? 5, {
    min: 1,
  });
  return { store, ttlMs, maxPerUser, maxFailures };
}

/**
 * Device tokens (OWASP's "device cookies"): a long-lived opaque token given to a client after a
 * successful login, which the login route can accept as proof that the client logged in as this
 * user before, and so exempt it from the lock-out that strangers' wrong guesses cause.
 */
export function createDeviceTokens(settings: DeviceTokenSettings): DeviceTokens {
  const { store, ttlMs, maxPerUser, maxFailures } = settings;
  return {
    async issueDeviceToken(userId) {
      checkUserId(userId, 'issueDeviceToken');
      // 256 random bits: the token carries no data, and a guess is hopeless.
      const token = `${DEVICE_PREFIX}${randomBytes(32).toString('base64url')}`;
      const now = new Date();
      await store.add(
        { tokenHash: hashDeviceToken(token), userId, createdAt: now, expiresAt: new Date(now.getTime() + ttlMs) },
        maxPerUser,
      );
      return token;
    },
    async verifyDeviceToken(token, userId) {
      const tokenHash = wellFormedHash(token);
      if (tokenHash === undefined || !isUserId(userId)) return false;
      return store.verify(tokenHash, userId, new Date());
    },
    async recordDeviceFailure(token, userId) {
      const tokenHash = wellFormedHash(token);
      if (tokenHash === undefined || !isUserId(userId)) return 'unknown';
      return store.recordFailure(tokenHash, userId, new Date(), maxFailures);
    },
    async revokeDeviceTokens(userId) {
      checkUserId(userId, 'revokeDeviceTokens');
      return store.revokeAllForUser(userId);
    },
  };
}

/** High-entropy secrets need no slow hash: SHA-256 keeps a stolen table useless. */
function hashDeviceToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

// A device token comes from a client (a cookie, a header): anything else is simply not one.
function wellFormedHash(token: unknown): string | undefined {
  if (typeof token !== 'string' || !token.startsWith(DEVICE_PREFIX) || token.length > MAX_DEVICE_TOKEN_LENGTH) {
    return undefined;
  }
  return hashDeviceToken(token);
}

function isUserId(userId: unknown): userId is string {
  return typeof userId === 'string' && userId.length > 0;
}

function checkUserId(userId: unknown, method: string): void {
  if (!isUserId(userId)) throw new TypeError(`${method} needs a non-empty string user id`);
}
