// The interfaces an auth adapter implements (session store, device-token store, revocation bus)
// and the records they pass: what a custom store or bus needs, in one place.

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

/** A device token as a store keeps it: its hash, never the token. */
export interface NewDeviceToken {
  /** SHA-256 (hex) of the token. */
  tokenHash: string;
  userId: string;
  createdAt: Date;
  expiresAt: Date;
}

/**
 * What a failed login made with a device token did to it: `counted` (still valid), `revoked`
 * (that failure was its last: it no longer verifies), or `unknown` (no live token of this user
 * has that value, so nothing was counted).
 */
export type DeviceFailureOutcome = 'counted' | 'revoked' | 'unknown';

/**
 * Where device tokens live. Tokens are matched by hash AND user: a token never verifies, nor
 * counts a failure, for another user than the one it was issued to.
 */
export interface DeviceTokenStore {
  /**
   * Stores a new token, then keeps only the user's `maxPerUser` most recently issued unexpired
   * tokens: the oldest go first. Expired tokens of the user may be dropped at the same time.
   */
  add(token: NewDeviceToken, maxPerUser: number): Promise<void>;
  /** True when the user has an unexpired token with this hash. */
  verify(tokenHash: string, userId: string, now: Date): Promise<boolean>;
  /**
   * Counts one failed login made with this token (the user's, unexpired). The failure that
   * brings the count to `maxFailures` deletes the token. Concurrent calls each count.
   */
  recordFailure(tokenHash: string, userId: string, now: Date, maxFailures: number): Promise<DeviceFailureOutcome>;
  /** Deletes every token of the user; returns how many there were. */
  revokeAllForUser(userId: string): Promise<number>;
}

/**
 * Carries revocations between instances as they happen. Fire-and-forget like pub/sub: a message
 * can be lost (a Redis failover), which is why `createAuth` also polls the session store.
 */
export interface RevocationBus {
  /** Tells every subscribed instance (the publisher's own included) about sessions just revoked. */
  publish(revocations: readonly SessionRevocation[]): Promise<void>;
  /**
   * Calls `handler` with every batch published from now on, by any instance. Resolves once the
   * subscription is live (a Redis `SUBSCRIBE` acknowledged), with the function that ends it.
   */
  subscribe(handler: (revocations: readonly SessionRevocation[]) => void): Promise<() => void>;
}
