/** What a client may tell us about itself when a session starts or refreshes. */
export interface SessionMeta {
  userAgent?: string;
  ip?: string;
}

/** A session (one refresh-token family) as `listSessions` shows it. */
export interface SessionInfo {
  id: string;
  userId: string;
  createdAt: Date;
  lastUsedAt: Date;
  /** When the current refresh token of the family expires. */
  expiresAt: Date;
  userAgent?: string;
  ip?: string;
}

export interface NewSession extends SessionInfo {
  /** SHA-256 of the first refresh token; tokens are never stored in clear. */
  tokenHash: string;
  /** Claims to put in access tokens of this session (refreshes reuse them). */
  claims: Record<string, unknown>;
}

export type RotateOutcome =
  /** Rotated: `tokenHash` is consumed, `newTokenHash` is the family's current token. */
  | { outcome: 'rotated'; session: SessionInfo & { claims: Record<string, unknown> } }
  /** `tokenHash` was already consumed (and not within the leeway): the family is now revoked. */
  | { outcome: 'reused'; sessionId: string; userId: string }
  /** Unknown, expired, or of a revoked family. */
  | { outcome: 'invalid' };

/**
 * Where refresh-token families live. Implementations must make `rotate` atomic: of two calls
 * with the same token, exactly one rotates.
 */
export interface SessionStore {
  create(session: NewSession): Promise<void>;
  /**
   * Consumes `tokenHash` and makes `newTokenHash` current (valid until `expiresAt`). A token
   * consumed less than `reuseLeewayMs` ago whose successor is still unused (a lost response)
   * has that successor replaced instead of counting as reuse: one live token per family.
   */
  rotate(input: {
    tokenHash: string;
    newTokenHash: string;
    now: Date;
    expiresAt: Date;
    reuseLeewayMs: number;
    /** A family older than this cannot be refreshed any more (absolute session lifetime). */
    maxSessionMs: number;
    meta: SessionMeta;
  }): Promise<RotateOutcome>;
  /** Revokes the family of this token (logout); false if the token is unknown. */
  revokeByToken(tokenHash: string, now: Date): Promise<boolean>;
  /** Revokes every family of the user; returns how many were active. */
  revokeAllForUser(userId: string, now: Date): Promise<number>;
  /** Active sessions of the user, newest first. */
  listSessions(userId: string, now: Date): Promise<SessionInfo[]>;
}

interface MemoryFamily {
  info: SessionInfo;
  claims: Record<string, unknown>;
  revokedAt: Date | undefined;
}

interface MemoryToken {
  sessionId: string;
  expiresAt: Date;
  consumedAt: Date | undefined;
  /** The successor this token was rotated into. */
  replacedBy: string | undefined;
}

/**
 * Sessions in process memory: exact and atomic (every call runs synchronously), gone on
 * restart. For tests and single-instance deployments; use the Postgres store otherwise.
 */
export function createMemorySessionStore(): SessionStore {
  const families = new Map<string, MemoryFamily>();
  const tokens = new Map<string, MemoryToken>();
  // Token hashes per family, so revoking one does not scan every token.
  const familyTokens = new Map<string, Set<string>>();

  const addToken = (hash: string, token: MemoryToken) => {
    tokens.set(hash, token);
    let hashes = familyTokens.get(token.sessionId);
    if (!hashes) {
      hashes = new Set();
      familyTokens.set(token.sessionId, hashes);
    }
    hashes.add(hash);
  };

  const revokeFamily = (sessionId: string, now: Date) => {
    const family = families.get(sessionId);
    if (family && !family.revokedAt) family.revokedAt = now;
    // Its tokens are useless now: forget them (a revoked family answers 'invalid').
    for (const hash of familyTokens.get(sessionId) ?? []) tokens.delete(hash);
    familyTokens.delete(sessionId);
  };

  return {
    async create(session) {
      const { tokenHash, claims, ...info } = session;
      families.set(info.id, { info: { ...info }, claims, revokedAt: undefined });
      addToken(tokenHash, {
        sessionId: info.id,
        expiresAt: info.expiresAt,
        consumedAt: undefined,
        replacedBy: undefined,
      });
    },
    async rotate({ tokenHash, newTokenHash, now, expiresAt, reuseLeewayMs, maxSessionMs, meta }) {
      const token = tokens.get(tokenHash);
      if (!token) return { outcome: 'invalid' };
      const family = families.get(token.sessionId);
      if (!family || family.revokedAt || token.expiresAt <= now) return { outcome: 'invalid' };
      if (now.getTime() - family.info.createdAt.getTime() >= maxSessionMs) return { outcome: 'invalid' };
      if (token.consumedAt) {
        // Only with a leeway at all (clocks can make the elapsed time negative, which must not
        // pass for a retry at leeway 0), and only while the successor is unused: it is then
        // replaced (one live chain per family), never doubled.
        const successor = token.replacedBy === undefined ? undefined : tokens.get(token.replacedBy);
        const elapsed = now.getTime() - token.consumedAt.getTime();
        const retry = reuseLeewayMs > 0 && elapsed < reuseLeewayMs && successor !== undefined && !successor.consumedAt;
        if (!retry) {
          revokeFamily(token.sessionId, now);
          return { outcome: 'reused', sessionId: token.sessionId, userId: family.info.userId };
        }
        tokens.delete(token.replacedBy as string);
        familyTokens.get(token.sessionId)?.delete(token.replacedBy as string);
      } else {
        token.consumedAt = now;
      }
      token.replacedBy = newTokenHash;
      addToken(newTokenHash, { sessionId: token.sessionId, expiresAt, consumedAt: undefined, replacedBy: undefined });
      family.info = {
        ...family.info,
        lastUsedAt: now,
        expiresAt,
        ...(meta.userAgent === undefined ? {} : { userAgent: meta.userAgent }),
        ...(meta.ip === undefined ? {} : { ip: meta.ip }),
      };
      return { outcome: 'rotated', session: { ...family.info, claims: family.claims } };
    },
    async revokeByToken(tokenHash, now) {
      const token = tokens.get(tokenHash);
      if (!token) return false;
      revokeFamily(token.sessionId, now);
      return true;
    },
    async revokeAllForUser(userId, now) {
      let count = 0;
      for (const [id, family] of families) {
        if (family.info.userId !== userId || family.revokedAt) continue;
        if (family.info.expiresAt > now) count++;
        revokeFamily(id, now);
      }
      return count;
    },
    async listSessions(userId, now) {
      return [...families.values()]
        .filter((family) => family.info.userId === userId && !family.revokedAt && family.info.expiresAt > now)
        .map((family) => ({ ...family.info }))
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    },
  };
}
