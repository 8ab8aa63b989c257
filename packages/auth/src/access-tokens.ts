import { randomBytes } from 'node:crypto';
import { wholeNumberOption } from '@switchboard/hot-path';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { AuthError } from './errors.ts';
import type { KeySet } from './keys.ts';

export interface AccessTokenSettings {
  issuer: string;
  audience: string;
  /** @default 900000 (15 min) */
  ttlMs?: number;
  /** Accepted clock skew for exp / nbf / iat. @default 5000 */
  clockToleranceMs?: number;
  /** Verified tokens remembered until they expire, so a client's next requests skip the signature check; 0 disables. @default 10000 */
  cacheSize?: number;
  /**
   * Oldest `iat` accepted, in ms before now, whatever the token's `exp` says. Also refused: a
   * token whose lifetime (`exp - iat`) is longer than this service mints (`ttlMs` plus the
   * tolerance), and one issued in the future. @default ttlMs (rounded up to whole seconds) + clockToleranceMs
   */
  maxTokenAgeMs?: number;
}

/** A JWT claims set (RFC 7519): the registered claims, and any other. */
export interface JwtClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  jti?: string;
  nbf?: number;
  exp?: number;
  iat?: number;
  [claim: string]: unknown;
}

/** Who a valid access token speaks for. */
export interface Principal {
  userId: string;
  sessionId: string;
  /** Every claim of the token (registered ones included). */
  claims: JwtClaims & Record<string, unknown>;
}

// Claims the token service sets itself; a user object may not override them.
const RESERVED = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'sid']);
const TOKEN_TYPE = 'at+jwt';
const MAX_TOKEN_LENGTH = 8_192;

export interface AccessTokenService {
  sign(subject: {
    userId: string;
    sessionId: string;
    claims?: Record<string, unknown>;
  }): Promise<{ token: string; expiresAt: Date }>;
  verify(token: string): Promise<Principal>;
}

/**
 * Access tokens per RFC 8725: asymmetric algorithms from the key set only (never `none`, never
 * HMAC), `kid` in the header and looked up with its algorithm, `typ: at+jwt`, required
 * iss / aud / exp / iat / sub / sid, small clock tolerance, short lifetime.
 */
/**
 * The public key a token's header asks for: chosen by `kid`, and only if that key is of the
 * algorithm the header claims, so a token cannot pick how it is verified. (jose also refuses a
 * key of the wrong type for an algorithm; this check does not rely on it.)
 */
export function verificationKeyFor(keys: KeySet, header: { kid?: string | undefined; alg?: string | undefined }) {
  const key = header.kid === undefined ? undefined : keys.verification.get(header.kid);
  if (!key || key.alg !== header.alg) throw new AuthError('INVALID_TOKEN', 'unknown signing key');
  return key.publicKey;
}

export function createAccessTokenService(keys: KeySet, settings: AccessTokenSettings): AccessTokenService {
  const ttlMs = settings.ttlMs ?? 900_000;
  const toleranceSeconds = Math.ceil((settings.clockToleranceMs ?? 5_000) / 1000);
  // What `sign` puts between iat and exp (whole seconds), plus the tolerance: no token of ours
  // spans more, so a longer one was minted elsewhere (a leaked key, a misconfigured instance).
  const maxLifetimeMs = Math.ceil(ttlMs / 1000) * 1000 + toleranceSeconds * 1000;
  const maxTokenAgeMs = settings.maxTokenAgeMs ?? maxLifetimeMs;
  if (typeof settings.issuer !== 'string' || settings.issuer.length === 0)
    throw new TypeError('issuer must be a non-empty string');
  if (typeof settings.audience !== 'string' || settings.audience.length === 0)
    throw new TypeError('audience must be a non-empty string');
  if (!(Number.isFinite(ttlMs) && ttlMs >= 1_000))
    throw new TypeError(`accessTtlMs must be at least 1000, got ${ttlMs}`);
  if (!(Number.isFinite(maxTokenAgeMs) && maxTokenAgeMs >= 1_000))
    throw new TypeError(`maxTokenAgeMs must be at least 1000, got ${maxTokenAgeMs}`);
  const cacheSize = wholeNumberOption('createAccessTokenService', 'cacheSize', settings.cacheSize ?? 10_000, {
    min: 0,
  });
  const verified = createVerifiedTokenCache(cacheSize, toleranceSeconds * 1000, maxTokenAgeMs);

  return {
    async sign({ userId, sessionId, claims = {} }) {
      if (typeof userId !== 'string' || userId.length === 0) throw new TypeError('user id must be a non-empty string');
      for (const name of Object.keys(claims)) {
        if (RESERVED.has(name))
          throw new TypeError(`claim "${name}" is set by the token service and cannot be overridden`);
      }
      const now = Math.floor(Date.now() / 1000);
      const exp = now + Math.ceil(ttlMs / 1000);
      const { signing } = keys;
      const token = await new SignJWT({ ...claims, sid: sessionId })
        .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: TOKEN_TYPE })
        .setIssuer(settings.issuer)
        .setAudience(settings.audience)
        .setSubject(userId)
        .setIssuedAt(now)
        .setExpirationTime(exp)
        .setJti(randomBytes(12).toString('base64url'))
        .sign(signing.privateKey);
      return { token, expiresAt: new Date(exp * 1000) };
    },

    async verify(token) {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
        throw new AuthError('INVALID_TOKEN', 'access token is missing or malformed');
      }
      const known = verified.get(token);
      if (known) return known;
      let payload: JwtClaims;
      try {
        ({ payload } = await jwtVerify(token, (header) => verificationKeyFor(keys, header), {
          algorithms: keys.algorithms,
          issuer: settings.issuer,
          audience: settings.audience,
          typ: TOKEN_TYPE,
          clockTolerance: toleranceSeconds,
          requiredClaims: ['exp', 'iat', 'sub', 'sid'],
        }));
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired)
          throw new AuthError('TOKEN_EXPIRED', 'access token expired', { cause: error });
        throw new AuthError('INVALID_TOKEN', 'access token is invalid', { cause: error });
      }
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') {
        throw new AuthError('INVALID_TOKEN', 'access token lacks a subject or session');
      }
      checkTokenAge(payload as JwtClaims & { iat: number; exp: number }, {
        maxTokenAgeMs,
        maxLifetimeMs,
        toleranceMs: toleranceSeconds * 1000,
      });
      const principal: Principal = Object.freeze({
        userId: payload.sub,
        sessionId: payload.sid,
        claims: Object.freeze(payload) as Principal['claims'],
      });
      verified.set(token, principal);
      return principal;
    },
  };
}

/**
 * The checks on `iat` that jose leaves to us. jose accepts any `exp - iat`, so a correctly signed
 * token minted with a 24 h lifetime would be honoured for 24 h; and an `iat` in the future would
 * let a token outlive `maxTokenAgeMs` by as much.
 */
function checkTokenAge(
  claims: { iat: number; exp: number },
  limits: { maxTokenAgeMs: number; maxLifetimeMs: number; toleranceMs: number },
): void {
  const issuedAtMs = claims.iat * 1000;
  if (claims.exp * 1000 - issuedAtMs > limits.maxLifetimeMs)
    throw new AuthError('INVALID_TOKEN', 'access token lifetime is longer than this service issues');
  const ageMs = Date.now() - issuedAtMs;
  if (ageMs < -limits.toleranceMs) throw new AuthError('INVALID_TOKEN', 'access token is issued in the future');
  // Expired in effect: the client's remedy is the same as for `exp` (refresh).
  if (ageMs > limits.maxTokenAgeMs) throw new AuthError('TOKEN_EXPIRED', 'access token is too old');
}

/**
 * Tokens whose signature and claims were checked, by their exact text, until they expire (with
 * the same tolerance as the check). The signature check is most of an authenticated request's
 * CPU, and a client sends one token with every request until it expires. Only successes are
 * kept, principals are frozen (shared by every request of the token), and the oldest entry goes
 * first when full. Whether the session is still valid is not a property of the token, so it is
 * never answered from here. An entry also ends when the token reaches `maxTokenAgeMs`, so a
 * cached token is refused exactly when a fresh check would refuse it.
 */
function createVerifiedTokenCache(size: number, toleranceMs: number, maxTokenAgeMs: number) {
  const entries = new Map<string, { principal: Principal; validUntil: number }>();
  return {
    get(token: string): Principal | undefined {
      const entry = entries.get(token);
      if (entry === undefined) return undefined;
      // Expired or too old: verify again, which fails with TOKEN_EXPIRED as for any such token.
      if (Date.now() >= entry.validUntil) {
        entries.delete(token);
        return undefined;
      }
      return entry.principal;
    },
    set(token: string, principal: Principal): void {
      const { exp, iat } = principal.claims;
      if (size === 0 || typeof exp !== 'number' || typeof iat !== 'number') return;
      if (entries.size >= size) entries.delete(entries.keys().next().value as string);
      const validUntil = Math.min(exp * 1000 + toleranceMs, iat * 1000 + maxTokenAgeMs);
      entries.set(token, { principal, validUntil });
    },
  };
}
