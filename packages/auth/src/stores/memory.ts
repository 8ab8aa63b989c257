import type { DeleteExpiredResult, SessionInfo, SessionRevocation, SessionStore } from '../types.ts';

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
