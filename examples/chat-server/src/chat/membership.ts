import type { Cache } from '@switchboard/cache';
import type { Rbac } from '@switchboard/rbac';
import { createPostgresGrantStore } from '@switchboard/rbac/postgres';
import type { Outbox, Transaction } from '@switchboard/tx';
import { auditContext } from './admin-audit.ts';
import { chatScope } from './roles.ts';
import { enqueueUserEvents, type UserEventPayload } from './user-events.ts';

/** What every change of membership needs (chats.ts, invitations.ts). */
export interface MembershipDeps {
  rbac: Rbac;
  cache: Cache;
  /** Where the membership events of `userEvents` are written, in the change's transaction. */
  outbox: Outbox;
  /** Called after a transaction that wrote outbox events committed: wakes this process's relay. */
  onEnqueued?: () => void;
}

/**
 * The steps a membership change takes inside its transaction. Membership lives twice, on
 * purpose: the `participants` rows (what lists and unread counts read) and the rbac grants in
 * scope `chat:<id>` (what every check reads). Both change in one transaction: the grant store is
 * bound to it, and the rbac cache forgets the user only after the commit. Only an ACTIVE
 * participant holds a grant; an invited one holds none until they accept.
 */
export function createMembership(deps: MembershipDeps) {
  const { rbac, cache, outbox, onEnqueued = () => {} } = deps;
  const grantsIn = (tx: Transaction) => createPostgresGrantStore({ pool: tx });

  return {
    /**
     * After the commit: the members' cached grants (rbac) and the chat's cached participant
     * list go, here and, through their buses, on every other instance; then this process's relay
     * is woken for the change's `userEvents` (so they mostly trail the invalidations; a reader of
     * an event reads the participants from the primary anyway, see `Chat.fresh`).
     */
    invalidateAfterCommit(tx: Transaction, chatId: string, userIds: readonly string[]) {
      tx.afterCommit(async () => {
        await Promise.all(userIds.map((userId) => rbac.invalidate(userId)));
        await cache.deleteByTag(chatScope(chatId));
        onEnqueued();
      });
    },

    /**
     * Membership changes of one user in one chat take turns (an advisory lock: a row lock cannot
     * cover a participant that does not exist yet), so two concurrent changes can never leave a
     * second grant behind.
     */
    lock(tx: Transaction, chatId: string, userId: string) {
      return tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`membership:${chatId}:${userId}`]);
    },

    /** Grants `role` in the chat, recorded in the rbac audit trail (in the transaction) with who did it. */
    async grant(tx: Transaction, userId: string, role: string, scope: string, actorId: string) {
      await grantsIn(tx).grant(userId, role, scope, auditContext(actorId));
    },

    /** Every role the user holds in the chat goes (a change replaces them all), each recorded. */
    async revokeEveryRole(tx: Transaction, userId: string, scope: string, actorId: string) {
      // Every role the user holds there, in one statement: a role defined later goes too.
      await grantsIn(tx).revokeScope(userId, scope, auditContext(actorId));
    },

    /** They left or were taken out (or declined): from now on they come back only by invitation. */
    async recordDeparture(tx: Transaction, chatId: string, userId: string) {
      await tx.query(
        `INSERT INTO former_participants (chat_id, user_id) VALUES ($1, $2)
         ON CONFLICT (chat_id, user_id) DO UPDATE SET left_at = now()`,
        [chatId, userId],
      );
    },

    /** The `userEvents` of the change, written with it (the relay is woken by `invalidateAfterCommit`). */
    async notify(tx: Transaction, events: readonly UserEventPayload[]) {
      await enqueueUserEvents(outbox, tx, events);
    },
  };
}

export type Membership = ReturnType<typeof createMembership>;
