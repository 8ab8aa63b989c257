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
  /**
   * Rotated: `tokenHash` is consumed, `newTokenHash` is the family's current token. Or, with
   * `sealedSuccessor`, a repeat presentation within the leeway: `newTokenHash` was not used,
   * the caller must hand out the successor sealed there (the one the first presenter got).
   */
  | {
      outcome: 'rotated';
      session: SessionInfo & { claims: Record<string, unknown> };
      sealedSuccessor?: string;
    }
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
   * Consumes `tokenHash` and makes `newTokenHash` current (valid until `expiresAt`), keeping
   * `sealedSuccessor` with the consumed token. A token consumed less than `reuseLeewayMs` ago
   * whose successor is still unused (two tabs refreshing at once, a lost response) is not
   * reuse: the store answers `rotated` with the `sealedSuccessor` kept at its first rotation,
   * and changes no token, so every such presenter gets the same successor (one live chain).
   * Once the successor is used, the sealed copy is dropped. A token consumed without a sealed
   * successor (by an older version) has its unused successor replaced by `newTokenHash` instead.
   */
  rotate(input: {
    tokenHash: string;
    newTokenHash: string;
    /**
     * The successor, sealed under a key only the presented token yields (see `createAuth`);
     * opaque to the store. Absent when `reuseLeewayMs` is 0.
     */
    sealedSuccessor?: string;
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
  /**
   * Revokes one session (family) of the user by its id ("sign out that device"); false when it
   * is not an active session of that user (someone else's id revokes nothing).
   */
  revokeSession(sessionId: string, userId: string, now: Date): Promise<boolean>;
  /** Active sessions of the user, newest first. */
  listSessions(userId: string, now: Date): Promise<SessionInfo[]>;
  /**
   * Deletes what can no longer be used (what `auth.cleanup()` runs): refresh tokens past their
   * expiry; every token of a family that is revoked or older than `maxSessionMs`; sealed
   * successors older than `reuseLeewayMs`; and the rows of sessions that ended (revoked,
   * expired, or past `maxSessionMs`) more than `keepEndedSessionsMs` ago. Consumed tokens of
   * live families stay: presenting one again is how reuse is detected. Optional for custom
   * stores; `auth.cleanup()` needs it.
   */
  deleteExpired?(input: {
    now: Date;
    maxSessionMs: number;
    reuseLeewayMs: number;
    keepEndedSessionsMs: number;
  }): Promise<DeleteExpiredResult>;
  /**
   * Sessions revoked at or after `since`, by any instance: what `createAuth` polls to refuse
   * their access tokens (a revocation message lost on the bus is found here). The revocation
   * time compared must be the `now` given to the call that revoked (`rotate`, `revokeByToken`,
   * `revokeAllForUser`), never the store's own clock: an instance asks for `since: now` right
   * after revoking to learn which sessions it ended.
   */
  listRevokedSince(since: Date): Promise<SessionRevocation[]>;
}

/** What `SessionStore.deleteExpired` removed. */
export interface DeleteExpiredResult {
  /** Refresh-token rows deleted. */
  tokens: number;
  /** Session rows deleted (ended sessions past `keepEndedSessionsMs`). */
  sessions: number;
}

/** A session that was revoked (logout, sign out everywhere, refresh-token reuse). */
export interface SessionRevocation {
  sessionId: string;
  userId: string;
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
  /** That successor, sealed under this token; kept until the successor is used. */
  sealedSuccessor: string | undefined;
  /** The token this one succeeded, whose sealed copy of this one goes when this one is used. */
  replaces: string | undefined;
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
        sealedSuccessor: undefined,
        replaces: undefined,
      });
    },
    async rotate({ tokenHash, newTokenHash, sealedSuccessor, now, expiresAt, reuseLeewayMs, maxSessionMs, meta }) {
      const token = tokens.get(tokenHash);
      if (!token) return { outcome: 'invalid' };
      const family = families.get(token.sessionId);
      if (!family || family.revokedAt || token.expiresAt <= now) return { outcome: 'invalid' };
      if (now.getTime() - family.info.createdAt.getTime() >= maxSessionMs) return { outcome: 'invalid' };
      const touch = (tokenExpiresAt: Date) => {
        family.info = {
          ...family.info,
          lastUsedAt: now,
          expiresAt: tokenExpiresAt,
          ...(meta.userAgent === undefined ? {} : { userAgent: meta.userAgent }),
          ...(meta.ip === undefined ? {} : { ip: meta.ip }),
        };
        return { ...family.info, claims: family.claims };
      };
      if (token.consumedAt) {
        // Only with a leeway at all (clocks can make the elapsed time negative, which must not
        // pass for a repeat at leeway 0), and only while the successor is unused.
        const successor = token.replacedBy === undefined ? undefined : tokens.get(token.replacedBy);
        const elapsed = now.getTime() - token.consumedAt.getTime();
        const repeat = reuseLeewayMs > 0 && elapsed < reuseLeewayMs && successor !== undefined && !successor.consumedAt;
        if (!repeat) {
          revokeFamily(token.sessionId, now);
          return { outcome: 'reused', sessionId: token.sessionId, userId: family.info.userId };
        }
        // Every presenter within the window gets the successor the first one got.
        if (token.sealedSuccessor !== undefined) {
          return { outcome: 'rotated', session: touch(successor.expiresAt), sealedSuccessor: token.sealedSuccessor };
        }
        tokens.delete(token.replacedBy as string);
        familyTokens.get(token.sessionId)?.delete(token.replacedBy as string);
      } else {
        token.consumedAt = now;
        // The predecessor's sealed copy of this token has served its purpose.
        const predecessor = token.replaces === undefined ? undefined : tokens.get(token.replaces);
        if (predecessor) predecessor.sealedSuccessor = undefined;
      }
      token.replacedBy = newTokenHash;
      token.sealedSuccessor = sealedSuccessor;
      addToken(newTokenHash, {
        sessionId: token.sessionId,
        expiresAt,
        consumedAt: undefined,
        replacedBy: undefined,
        sealedSuccessor: undefined,
        replaces: tokenHash,
      });
      return { outcome: 'rotated', session: touch(expiresAt) };
    },
    async revokeByToken(tokenHash, now) {
      const token = tokens.get(tokenHash);
      if (!token) return false;
      revokeFamily(token.sessionId, now);
      return true;
    },
    async revokeSession(sessionId, userId, now) {
      const family = families.get(sessionId);
      if (!family || family.info.userId !== userId || family.revokedAt || family.info.expiresAt <= now) return false;
      revokeFamily(sessionId, now);
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
    async deleteExpired({ now, maxSessionMs, reuseLeewayMs, keepEndedSessionsMs }) {
      const result: DeleteExpiredResult = { tokens: 0, sessions: 0 };
      const nowMs = now.getTime();
      for (const [sessionId, family] of families) {
        const maxAgeAt = family.info.createdAt.getTime() + maxSessionMs;
        const dead = family.revokedAt !== undefined || maxAgeAt <= nowMs;
        for (const hash of familyTokens.get(sessionId) ?? []) {
          const token = tokens.get(hash);
          if (token && !dead && token.expiresAt > now) {
            const sealedFor = token.consumedAt === undefined ? 0 : nowMs - token.consumedAt.getTime();
            if (sealedFor >= reuseLeewayMs) token.sealedSuccessor = undefined;
            continue;
          }
          tokens.delete(hash);
          familyTokens.get(sessionId)?.delete(hash);
          if (token) result.tokens++;
        }
        const endedAt = Math.min(family.revokedAt?.getTime() ?? maxAgeAt, maxAgeAt, family.info.expiresAt.getTime());
        if (endedAt <= nowMs - keepEndedSessionsMs) {
          families.delete(sessionId);
          familyTokens.delete(sessionId);
          result.sessions++;
        }
      }
      return result;
    },
    async listRevokedSince(since) {
      const revoked: SessionRevocation[] = [];
      for (const [sessionId, family] of families) {
        if (family.revokedAt && family.revokedAt >= since) revoked.push({ sessionId, userId: family.info.userId });
      }
      return revoked;
    },
  };
}
