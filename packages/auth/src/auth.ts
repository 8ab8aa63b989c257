import { createHash, randomBytes } from 'node:crypto';
import { type AccessTokenService, createAccessTokenService, type Principal } from './access-tokens.ts';
import { bearerToken, type RequestLike } from './authenticate.ts';
import { AuthError } from './errors.ts';
import { generateSigningKey, loadKeySet, type PrivateSigningJwk, type PublicJwk } from './keys.ts';
import { createPasswordHasher, type PasswordCheck, type PasswordParams } from './passwords.ts';
import { createMemorySessionStore, type SessionInfo, type SessionMeta, type SessionStore } from './sessions.ts';

export interface AuthOptions {
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
  stores?: { sessions?: SessionStore };
  /** @default 900000 (15 min) */
  accessTtlMs?: number;
  /**
   * Access tokens remembered after their signature check, until they expire, so that a client's
   * next requests skip it (it is most of an authenticated request's CPU); 0 disables. Only valid
   * tokens are kept; each entry holds the token text and its claims. @default 10000
   */
  accessTokenCacheSize?: number;
  /** Lifetime of each refresh token (renewed by every refresh). @default 1209600000 (14 days) */
  refreshTtlMs?: number;
  /**
   * Absolute lifetime of a session, however often it is refreshed: after it, the user logs in
   * again (and their claims are read afresh). @default 2592000000 (30 days)
   */
  maxSessionMs?: number;
  /**
   * A consumed refresh token presented again within this window gets a sibling token instead
   * of revoking the family (benign retries of a lost response). 0 is the strict OAuth BCP
   * behaviour: any second use is treated as theft. @default 0
   */
  reuseLeewayMs?: number;
  /** argon2id parameters. @default OWASP (m=19456, t=2, p=1) */
  password?: Partial<PasswordParams>;
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
  verifyAccessToken(token: string): Promise<Principal>;
  /** Rotates: the presented refresh token is consumed, a new pair issued. Reuse revokes the family. */
  refresh(refreshToken: string, meta?: SessionMeta): Promise<TokenPair>;
  /** Ends the session of this refresh token. */
  logout(refreshToken: string): Promise<void>;
  /** Ends every session of the user ("sign out everywhere"); returns how many were active. */
  revokeAllSessions(userId: string): Promise<number>;
  listSessions(userId: string): Promise<SessionInfo[]>;
  /** Public keys, for `/.well-known/jwks.json`. */
  jwks(): { keys: PublicJwk[] };
  /**
   * The principal of a request's `Authorization: Bearer` header. No header: `UNAUTHENTICATED`;
   * a malformed header or token: `INVALID_TOKEN`; an expired one: `TOKEN_EXPIRED`.
   */
  authenticate(request: RequestLike): Promise<Principal>;
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
  const logger = options.logger ?? { warn: (message: string) => console.warn(`[auth] ${message}`) };
  let jwks = options.keys;
  if (!jwks || jwks.length === 0) {
    logger.warn('no signing keys given: using an ephemeral EdDSA key; every token dies with this process');
    jwks = [await generateSigningKey()];
  }
  const keys = await loadKeySet(jwks);
  const access: AccessTokenService = createAccessTokenService(keys, {
    issuer: options.issuer,
    audience: options.audience,
    ...(options.accessTtlMs === undefined ? {} : { ttlMs: options.accessTtlMs }),
    ...(options.accessTokenCacheSize === undefined ? {} : { cacheSize: options.accessTokenCacheSize }),
  });
  const passwords = createPasswordHasher(options.password ? { params: options.password } : {});
  const sessions = options.stores?.sessions ?? createMemorySessionStore();
  const refreshTtlMs = options.refreshTtlMs ?? 14 * 24 * 3_600_000;
  const reuseLeewayMs = options.reuseLeewayMs ?? 0;
  const maxSessionMs = options.maxSessionMs ?? 30 * 24 * 3_600_000;
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

  return {
    hashPassword: (password) => passwords.hash(password),
    verifyPassword: (hash, password) => passwords.verify(hash, password),

    async issueTokens(user, meta = {}) {
      const { id, ...claims } = user ?? ({} as AuthUser);
      if (typeof id !== 'string' || id.length === 0) throw new TypeError('issueTokens needs a user with a string id');
      const now = new Date();
      const refreshToken = newRefreshToken();
      const sessionId = randomBytes(12).toString('base64url');
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

    verifyAccessToken: (token) => access.verify(token),

    async refresh(refreshToken, meta = {}) {
      const tokenHash = checkedHash(refreshToken);
      const now = new Date();
      const next = newRefreshToken();
      const result = await sessions.rotate({
        tokenHash,
        newTokenHash: hashToken(next),
        now,
        expiresAt: new Date(now.getTime() + refreshTtlMs),
        reuseLeewayMs,
        maxSessionMs,
        meta: cleanMeta(meta),
      });
      if (result.outcome === 'reused') {
        throw new AuthError('REFRESH_TOKEN_REUSED', 'refresh token was already used: the session has been revoked');
      }
      if (result.outcome === 'invalid')
        throw new AuthError('INVALID_REFRESH_TOKEN', 'refresh token is invalid or expired');
      return pair(result.session.userId, result.session.id, result.session.claims, next);
    },

    async logout(refreshToken) {
      await sessions.revokeByToken(checkedHash(refreshToken), new Date());
    },

    revokeAllSessions: (userId) => sessions.revokeAllForUser(userId, new Date()),
    listSessions: (userId) => sessions.listSessions(userId, new Date()),
    jwks: () => keys.jwks(),

    async authenticate(request) {
      const token = bearerToken(request);
      if (token === undefined) throw new AuthError('UNAUTHENTICATED', 'no access token');
      return access.verify(token);
    },
  };
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
