import { createHash, randomBytes } from 'node:crypto';
import { wholeNumberOption } from '@switchboard/hot-path';
import { type AccessTokenService, createAccessTokenService, type Principal } from './access-tokens.ts';
import { type AuthTelemetryOptions, authTelemetry, refreshAttributes, traced } from './auth-tracing.ts';
import { bearerToken, type RequestLike } from './authenticate.ts';
import { createDeviceTokens, resolveDeviceTokenSettings } from './device-tokens.ts';
import { AuthError } from './errors.ts';
import { generateSigningKey, loadKeySet, type PrivateSigningJwk, type PublicJwk } from './keys.ts';
import { createPasswordHasher, type PasswordCheck, type PasswordParams } from './passwords.ts';
import { openSuccessor, sealSuccessor } from './refresh-successor.ts';
import { createRevocationTracker, type RevocationOptions, type SessionRevokedListener } from './revocations.ts';
import { createMemorySessionStore } from './stores/memory.ts';
import { createMemoryDeviceTokenStore } from './stores/memory-devices.ts';
import type {
  DeleteExpiredResult,
  DeviceFailureOutcome,
  DeviceTokenStore,
  SessionInfo,
  SessionMeta,
  SessionStore,
} from './types.ts';

export interface AuthOptions extends AuthTelemetryOptions {
  /** `iss` of every access token. */
  issuer: string;
  /** `aud` of every access token. */
  audience: string;
  /**
   * Private JWKs (EdDSA or ES256), each with `kid` and `alg`: the first signs, all verify.
   * Without keys an ephemeral EdDSA key is generated, and every token dies with the process.
   */
  keys?: readonly PrivateSigningJwk[];
  /** @default memory stores */
  stores?: { sessions?: SessionStore; devices?: DeviceTokenStore };
  /**
   * How every instance learns of every revocation (logout, sign out everywhere, refresh-token
   * reuse) and refuses the session's access tokens with `SESSION_REVOKED`: a bus for speed, a
   * poll of the session store every `pollIntervalMs` for what the bus lost. Without it, only
   * the instance that revoked refuses them (the others until they expire). See the README.
   */
  revocations?: RevocationOptions;
  /** Lifetime of a device token. @default 31536000000 (365 days) */
  deviceTokenTtlMs?: number;
  /** Device tokens kept per user; issuing one more drops the oldest. @default 20 */
  maxDeviceTokensPerUser?: number;
  /** Failed logins recorded with one device token (`recordDeviceFailure`) that revoke it. @default 5 */
  deviceTokenMaxFailures?: number;
  /** @default 900000 (15 min) */
  accessTtlMs?: number;
  /**
   * Access tokens remembered after their signature check, until they expire, so that a client's
   * next requests skip it (it is most of an authenticated request's CPU); 0 disables. Only valid
   * tokens are kept; each entry holds the token text and its claims. @default 10000
   */
  accessTokenCacheSize?: number;
  /**
   * Oldest access token accepted (now − `iat`), whatever its `exp` says; a token whose
   * `exp − iat` exceeds `accessTtlMs` plus the 5 s clock tolerance is refused too (minted with a
   * leaked key or by a misconfigured instance). Cached tokens obey it as well.
   * @default accessTtlMs (rounded up to whole seconds) + 5000
   */
  maxTokenAgeMs?: number;
  /** Lifetime of each refresh token (renewed by every refresh). @default 1209600000 (14 days) */
  refreshTtlMs?: number;
  /**
   * Absolute lifetime of a session, however often it is refreshed: after it, the user logs in
   * again (and their claims are read afresh). @default 2592000000 (30 days)
   */
  maxSessionMs?: number;
  /**
   * Grace period after a rotation: the consumed refresh token presented again within this
   * window, while its successor is still unused (two tabs refreshing at once, a lost response),
   * gets the very same successor the first presenter got, instead of revoking the family. A
   * replay after the window, or after the successor was used, is reuse. The trade-off: a thief
   * replaying a stolen token within the window gets the victim's pair (not a chain of their
   * own). 0 is the strict OAuth BCP behaviour: any second use is treated as theft. @default 10000
   */
  reuseLeewayMs?: number;
  /** argon2id parameters. @default OWASP (m=19456, t=2, p=1) */
  password?: Partial<PasswordParams>;
  /**
   * Password hashes and verifications (argon2) running at once on this instance.
   * @default the libuv threadpool size (`UV_THREADPOOL_SIZE`, else 4), capped at the CPU count
   */
  passwordConcurrency?: number;
  /**
   * Password operations waiting beyond `passwordConcurrency`; past it, `hashPassword` and
   * `verifyPassword` fail at once with `AuthError` code `BUSY` (`retryAfterMs`; HTTP 503 and
   * `Retry-After` through the error table). @default 16 × passwordConcurrency
   */
  passwordQueueSize?: number;
  /** Told once about ephemeral keys. @default console */
  logger?: { warn(message: string): void };
}

/** The user a session is for: its id, plus any claims to carry in access tokens. */
export interface AuthUser {
  id: string;
  [claim: string]: unknown;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  /** When the access token expires. */
  expiresAt: Date;
}

export interface Auth {
  hashPassword(password: string): Promise<string>;
  /** `hash` may be `null` for an unknown user: same cost, same `{ ok: false }`. */
  verifyPassword(hash: string | null, password: string): Promise<PasswordCheck>;
  /** Starts a session (a refresh-token family) and returns its first pair. */
  issueTokens(user: AuthUser, meta?: SessionMeta): Promise<TokenPair>;
  /**
   * The principal of a valid access token, without I/O. Refused: a bad token (`INVALID_TOKEN`),
   * an expired one (`TOKEN_EXPIRED`), one of a revoked session (`SESSION_REVOKED`).
   */
  verifyAccessToken(token: string): Promise<Principal>;
  /** Rotates: the presented refresh token is consumed, a new pair issued. Reuse revokes the family. */
  refresh(refreshToken: string, meta?: SessionMeta): Promise<TokenPair>;
  /** Ends the session of this refresh token. */
  logout(refreshToken: string): Promise<void>;
  /**
   * Ends every session of the user ("sign out everywhere") and revokes their device tokens;
   * returns how many sessions were active.
   */
  revokeAllSessions(userId: string): Promise<number>;
  /**
   * Ends one session of the user by its id (from `listSessions`): its refresh tokens stop
   * working and its access tokens are refused like a logout's. False when `sessionId` is not an
   * active session of `userId` (another user's id revokes nothing).
   */
  revokeSession(userId: string, sessionId: string): Promise<boolean>;
  listSessions(userId: string): Promise<SessionInfo[]>;
  /**
   * Deletes refresh tokens and sessions that can no longer be used (`SessionStore.deleteExpired`):
   * tokens past their expiry, every token of revoked families and of families past
   * `maxSessionMs`, sealed successors past `reuseLeewayMs`, and sessions that ended more than
   * an access-token lifetime (`maxTokenAgeMs`) plus a minute ago. Consumed tokens of live
   * families stay, so reuse is still detected. Run it periodically (e.g. hourly) on one
   * instance or all (it is idempotent). A store without `deleteExpired` is a `TypeError`.
   */
  cleanup(): Promise<DeleteExpiredResult>;
  /** Public keys, for `/.well-known/jwks.json`. */
  jwks(): { keys: PublicJwk[] };
  /**
   * The principal of a request's `Authorization: Bearer` header. No header: `UNAUTHENTICATED`;
   * a malformed header or token: `INVALID_TOKEN`; an expired one: `TOKEN_EXPIRED`.
   */
  authenticate(request: RequestLike): Promise<Principal>;
  /**
   * A new device token for the user, to give the client after a successful login (a cookie):
   * opaque, stored only as its hash, valid `deviceTokenTtlMs`. The user's oldest token goes
   * when they have more than `maxDeviceTokensPerUser`.
   */
  issueDeviceToken(userId: string): Promise<string>;
  /** True when `token` is a live device token of this user (anything else, malformed included: false). */
  verifyDeviceToken(token: string, userId: string): Promise<boolean>;
  /**
   * Call when a login that presented this device token had a wrong password: the
   * `deviceTokenMaxFailures`-th such failure revokes the token. A token that is not a live
   * token of this user counts nothing (`'unknown'`).
   */
  recordDeviceFailure(token: string, userId: string): Promise<DeviceFailureOutcome>;
  /** Revokes every device token of the user; returns how many there were. */
  revokeDeviceTokens(userId: string): Promise<number>;
  /**
   * `listener` is called once for each session revocation this instance learns of (its own,
   * from the bus, or from the poll), with the session and user id: end that session's open
   * subscriptions (SSE, WebSocket) there. Returns the function that removes the listener.
   */
  onSessionRevoked(listener: SessionRevokedListener): () => void;
  /** Stops the revocation poll and bus subscription (the stores and clients stay open). */
  close(): Promise<void>;
}

const REFRESH_PREFIX = 'rt_';

/**
 * @example
 * const auth = await createAuth({ issuer: 'https://api.example', audience: 'chat', keys: [signingJwk] });
 * const pair = await auth.issueTokens({ id: user.id }, { userAgent, ip });
 * const next = await auth.refresh(pair.refreshToken);
 */
export async function createAuth(options: AuthOptions): Promise<Auth> {
  if (!options || typeof options !== 'object') throw new TypeError('createAuth needs options { issuer, audience }');
  for (const name of ['issuer', 'audience'] as const) {
    if (typeof options[name] !== 'string' || options[name].length === 0)
      throw new TypeError(`createAuth: \`${name}\` must be a non-empty string`);
  }
  // An empty list is a mistake (a key file that did not load), not a request for a dev key.
  if (options.keys !== undefined && (!Array.isArray(options.keys) || options.keys.length === 0))
    throw new TypeError(
      'createAuth: `keys` must hold at least one signing key (leave it out for an ephemeral dev key)',
    );
  const telemetry = authTelemetry(options);
  const tracing = telemetry?.tracing;
  const logger = options.logger ?? { warn: (message: string) => console.warn(`[auth] ${message}`) };
  let jwks = options.keys;
  if (jwks === undefined) {
    logger.warn('no signing keys given: using an ephemeral EdDSA key; every token dies with this process');
    jwks = [await generateSigningKey()];
  }
  // Checked here too, so that a bad value is reported under the name the caller used.
  for (const [name, value, min] of [
    ['accessTokenCacheSize', options.accessTokenCacheSize, 0],
    ['passwordConcurrency', options.passwordConcurrency, 1],
    ['passwordQueueSize', options.passwordQueueSize, 0],
  ] as const) {
    if (value !== undefined) wholeNumberOption('createAuth', name, value, { min });
  }
  const keys = await loadKeySet(jwks);
  const access: AccessTokenService = createAccessTokenService(keys, {
    issuer: options.issuer,
    audience: options.audience,
    ...(options.accessTtlMs === undefined ? {} : { ttlMs: options.accessTtlMs }),
    ...(options.accessTokenCacheSize === undefined ? {} : { cacheSize: options.accessTokenCacheSize }),
    ...(options.maxTokenAgeMs === undefined ? {} : { maxTokenAgeMs: options.maxTokenAgeMs }),
  });
  const passwords = createPasswordHasher({
    ...(options.password ? { params: options.password } : {}),
    ...(options.passwordConcurrency === undefined ? {} : { concurrency: options.passwordConcurrency }),
    ...(options.passwordQueueSize === undefined ? {} : { queueSize: options.passwordQueueSize }),
  });
  const sessions = options.stores?.sessions ?? createMemorySessionStore();
  const refreshTtlMs = options.refreshTtlMs ?? 14 * 24 * 3_600_000;
  const reuseLeewayMs = options.reuseLeewayMs ?? 10_000;
  // An ended session's row outlives every access token of it (the clock tolerance is seconds):
  // revocation polling and listings may still look it up until then.
  const keepEndedSessionsMs = (options.maxTokenAgeMs ?? options.accessTtlMs ?? 900_000) + 60_000;
  const maxSessionMs = options.maxSessionMs ?? 30 * 24 * 3_600_000;
  const devices = createDeviceTokens(
    resolveDeviceTokenSettings(options.stores?.devices ?? createMemoryDeviceTokenStore(), options),
  );
  const revocations = createRevocationTracker({
    store: sessions,
    revocations: options.revocations,
    accessTtlMs: options.accessTtlMs ?? 900_000,
    logger,
  });
  if (!(Number.isFinite(maxSessionMs) && maxSessionMs > 0))
    throw new TypeError(`maxSessionMs must be > 0, got ${maxSessionMs}`);
  if (!(Number.isFinite(refreshTtlMs) && refreshTtlMs > 0))
    throw new TypeError(`refreshTtlMs must be > 0, got ${refreshTtlMs}`);
  if (!(Number.isFinite(reuseLeewayMs) && reuseLeewayMs >= 0))
    throw new TypeError(`reuseLeewayMs must be >= 0, got ${reuseLeewayMs}`);

  const pair = async (
    userId: string,
    sessionId: string,
    claims: Record<string, unknown>,
    refreshToken: string,
  ): Promise<TokenPair> => {
    const { token, expiresAt } = await access.sign({ userId, sessionId, claims });
    return { accessToken: token, refreshToken, expiresAt };
  };

  const verifyAccessToken = async (token: string): Promise<Principal> => {
    // After the verified-token cache (inside `access`): a cached token of a revoked session is
    // refused all the same.
    const principal = await access.verify(token);
    if (revocations.isRevoked(principal.sessionId)) {
      throw new AuthError('SESSION_REVOKED', 'the session of this access token has been revoked');
    }
    return principal;
  };

  await revocations.start();

  const auth: Auth = {
    hashPassword: (password) => passwords.hash(password),
    verifyPassword: (hash, password) => passwords.verify(hash, password),

    async issueTokens(user, meta = {}) {
      const { id, ...claims } = user ?? ({} as AuthUser);
      if (typeof id !== 'string' || id.length === 0) throw new TypeError('issueTokens needs a user with a string id');
      const now = new Date();
      const refreshToken = newRefreshToken();
      const sessionId = randomBytes(12).toString('base64url');
      tracing?.annotate({ 'switchboard.auth.session.id': sessionId });
      // Sign first: reserved claim names fail here, before a session is stored.
      const tokens = await pair(id, sessionId, claims, refreshToken);
      await sessions.create({
        id: sessionId,
        userId: id,
        createdAt: now,
        lastUsedAt: now,
        expiresAt: new Date(now.getTime() + refreshTtlMs),
        ...cleanMeta(meta),
        tokenHash: hashToken(refreshToken),
        claims,
      });
      return tokens;
    },

    verifyAccessToken,

    async refresh(refreshToken, meta = {}) {
      const tokenHash = checkedHash(refreshToken);
      const now = new Date();
      const next = newRefreshToken();
      const result = await sessions.rotate({
        tokenHash,
        newTokenHash: hashToken(next),
        // Kept with the consumed token so that whoever presents it again within the leeway gets
        // this same successor (see refresh-successor.ts for why sealed, not derived).
        ...(reuseLeewayMs > 0 ? { sealedSuccessor: sealSuccessor(refreshToken, next) } : {}),
        now,
        expiresAt: new Date(now.getTime() + refreshTtlMs),
        reuseLeewayMs,
        maxSessionMs,
        meta: cleanMeta(meta),
      });
      tracing?.annotate(refreshAttributes(result));
      if (result.outcome === 'reused') {
        await revocations.revoked([{ sessionId: result.sessionId, userId: result.userId }]);
        throw new AuthError('REFRESH_TOKEN_REUSED', 'refresh token was already used: the session has been revoked');
      }
      if (result.outcome === 'invalid')
        throw new AuthError('INVALID_REFRESH_TOKEN', 'refresh token is invalid or expired');
      let successor = next;
      if (result.sealedSuccessor !== undefined) {
        const shared = openSuccessor(refreshToken, result.sealedSuccessor);
        if (shared === undefined || !shared.startsWith(REFRESH_PREFIX))
          throw new AuthError('INVALID_REFRESH_TOKEN', 'refresh token is invalid or expired');
        successor = shared;
      }
      return pair(result.session.userId, result.session.id, result.session.claims, successor);
    },

    async logout(refreshToken) {
      const now = new Date();
      const revoked = await sessions.revokeByToken(checkedHash(refreshToken), now);
      tracing?.annotate({ 'switchboard.auth.revoked': revoked });
      if (revoked) await revocations.revokedAt(now);
    },

    async revokeAllSessions(userId) {
      const now = new Date();
      const active = await sessions.revokeAllForUser(userId, now);
      await revocations.revokedAt(now);
      await devices.revokeDeviceTokens(userId);
      return active;
    },
    async revokeSession(userId, sessionId) {
      if (typeof sessionId !== 'string' || sessionId.length === 0) return false;
      const now = new Date();
      const revoked = await sessions.revokeSession(sessionId, userId, now);
      if (revoked) await revocations.revokedAt(now);
      return revoked;
    },
    listSessions: (userId) => sessions.listSessions(userId, new Date()),
    async cleanup() {
      if (typeof sessions.deleteExpired !== 'function')
        throw new TypeError('cleanup: the session store has no deleteExpired method');
      return sessions.deleteExpired({ now: new Date(), maxSessionMs, reuseLeewayMs, keepEndedSessionsMs });
    },
    jwks: () => keys.jwks(),

    async authenticate(request) {
      const token = bearerToken(request);
      if (token === undefined) throw new AuthError('UNAUTHENTICATED', 'no access token');
      return verifyAccessToken(token);
    },

    ...devices,
    onSessionRevoked: (listener) => revocations.onSessionRevoked(listener),
    close: () => revocations.close(),
  };
  return telemetry ? traced(auth, telemetry) : auth;
}

/** 256 random bits, opaque: a refresh token carries no data and proves nothing by its shape. */
function newRefreshToken(): string {
  return `${REFRESH_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** High-entropy secrets need no slow hash: SHA-256 keeps a stolen table useless. */
function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function checkedHash(refreshToken: string): string {
  if (typeof refreshToken !== 'string' || !refreshToken.startsWith(REFRESH_PREFIX) || refreshToken.length > 100) {
    throw new AuthError('INVALID_REFRESH_TOKEN', 'refresh token is invalid or expired');
  }
  return hashToken(refreshToken);
}

function cleanMeta(meta: SessionMeta): SessionMeta {
  const clean: SessionMeta = {};
  // Stored and shown back to the user: bounded, never trusted as anything but text.
  if (typeof meta?.userAgent === 'string') clean.userAgent = meta.userAgent.slice(0, 512);
  if (typeof meta?.ip === 'string') clean.ip = meta.ip.slice(0, 64);
  return clean;
}
