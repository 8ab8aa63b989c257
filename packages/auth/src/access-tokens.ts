import { randomBytes } from 'node:crypto';
import { type JWTPayload, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
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
}

/** Who a valid access token speaks for. */
export interface Principal {
  userId: string;
  sessionId: string;
  /** Every claim of the token (registered ones included). */
  claims: JWTPayload & Record<string, unknown>;
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
export function createAccessTokenService(keys: KeySet, settings: AccessTokenSettings): AccessTokenService {
  const ttlMs = settings.ttlMs ?? 900_000;
  const toleranceSeconds = Math.ceil((settings.clockToleranceMs ?? 5_000) / 1000);
  if (typeof settings.issuer !== 'string' || settings.issuer.length === 0)
    throw new TypeError('issuer must be a non-empty string');
  if (typeof settings.audience !== 'string' || settings.audience.length === 0)
    throw new TypeError('audience must be a non-empty string');
  if (!(Number.isFinite(ttlMs) && ttlMs >= 1_000))
    throw new TypeError(`accessTtlMs must be at least 1000, got ${ttlMs}`);
  const cacheSize = settings.cacheSize ?? 10_000;
  if (!(Number.isInteger(cacheSize) && cacheSize >= 0))
    throw new TypeError(`accessTokenCacheSize must be a whole number >= 0, got ${cacheSize}`);
  const verified = createVerifiedTokenCache(cacheSize, toleranceSeconds * 1000);

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
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(
          token,
          (header) => {
            // The key is chosen by kid, and must be of the algorithm the header claims: a token
            // cannot pick how it is verified.
            const key = header.kid === undefined ? undefined : keys.verification.get(header.kid);
            if (!key || key.alg !== header.alg) throw new AuthError('INVALID_TOKEN', 'unknown signing key');
            return key.publicKey;
          },
          {
            algorithms: keys.algorithms,
            issuer: settings.issuer,
            audience: settings.audience,
            typ: TOKEN_TYPE,
            clockTolerance: toleranceSeconds,
            requiredClaims: ['exp', 'iat', 'sub', 'sid'],
          },
        ));
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired)
          throw new AuthError('TOKEN_EXPIRED', 'access token expired', { cause: error });
        throw new AuthError('INVALID_TOKEN', 'access token is invalid', { cause: error });
      }
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') {
        throw new AuthError('INVALID_TOKEN', 'access token lacks a subject or session');
      }
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
 * Tokens whose signature and claims were checked, by their exact text, until they expire (with
 * the same tolerance as the check). The signature check is most of an authenticated request's
 * CPU, and a client sends one token with every request until it expires. Only successes are
 * kept, principals are frozen (shared by every request of the token), and the oldest entry goes
 * first when full. Whether the session is still valid is not a property of the token, so it is
 * never answered from here.
 */
function createVerifiedTokenCache(size: number, toleranceMs: number) {
  const entries = new Map<string, { principal: Principal; validUntil: number }>();
  return {
    get(token: string): Principal | undefined {
      const entry = entries.get(token);
      if (entry === undefined) return undefined;
      // Expired: verify again, which fails with TOKEN_EXPIRED as for any expired token.
      if (Date.now() >= entry.validUntil) {
        entries.delete(token);
        return undefined;
      }
      return entry.principal;
    },
    set(token: string, principal: Principal): void {
      if (size === 0 || typeof principal.claims.exp !== 'number') return;
      if (entries.size >= size) entries.delete(entries.keys().next().value as string);
      entries.set(token, { principal, validUntil: principal.claims.exp * 1000 + toleranceMs });
    },
  };
}
