import { EventEmitter, on } from 'node:events';
import { type Auth, createAuth, generateSigningKey, type PrivateSigningJwk } from '@switchboard/auth';
import { createPostgresSessionStore } from '@switchboard/auth/postgres';
import { createLogger, type Logger } from '@switchboard/logging';
import { createPaginator, type Paginator } from '@switchboard/pagination';
import { createRbac, type Rbac } from '@switchboard/rbac';
import { createPostgresGrantStore } from '@switchboard/rbac/postgres';
import { createOutbox, createOutboxRelay, type Outbox, type OutboxRelay } from '@switchboard/tx';
import type pg from 'pg';

/** A message as the API returns it. */
export interface Message {
  id: string;
  chatId: string;
  senderId: string;
  content: string;
  createdAt: string;
}

/**
 * The Switchboard instances the Nest app is built on, made once (before Nest) from one pool.
 * Messages reach subscribers through the outbox: the relay publishes each committed one to
 * this process's subscribers (several instances would publish to Redis instead).
 */
export interface Switchboard {
  pool: pg.Pool;
  auth: Auth;
  rbac: Rbac;
  paginator: Paginator;
  outbox: Outbox;
  log: Logger;
  /** Messages of one chat as they are committed, until `signal` aborts. */
  messagesOf(chatId: string, signal: AbortSignal): AsyncGenerator<Message>;
  close(): Promise<void>;
}

export async function createSwitchboard(options: {
  pool: pg.Pool;
  keys?: PrivateSigningJwk[];
  log?: Logger;
}): Promise<Switchboard> {
  const { pool } = options;
  const log = options.log ?? createLogger({ serviceName: 'nestjs-chat', level: process.env.LOG_LEVEL ?? 'info' });
  const auth = await createAuth({
    issuer: 'https://nestjs-chat.example',
    audience: 'nestjs-chat',
    keys: options.keys ?? [await generateSigningKey()],
    stores: { sessions: createPostgresSessionStore({ pool }) },
  });
  const rbac = await createRbac({
    roles: {
      member: { permissions: ['message:send', 'message:read'] },
      owner: { inherits: ['member'], permissions: ['chat:manage'] },
    },
    store: createPostgresGrantStore({ pool }),
  });
  const paginator = createPaginator({
    orderBy: [
      { field: 'createdAt', column: 'created_at', direction: 'desc' },
      { field: 'id', column: 'id', direction: 'desc' },
    ],
    maxPageSize: 100,
    defaultPageSize: 20,
  });
  const outbox = createOutbox();
  const committed = new EventEmitter();
  committed.setMaxListeners(0);
  const relay: OutboxRelay = createOutboxRelay({
    pool,
    outbox,
    publish: (event) => {
      committed.emit('message', event.payload as Message);
    },
  });
  relay.on('failed', ({ event, error, dead }) =>
    log.warn({ err: error, eventId: event.id, dead }, 'outbox publish failed'),
  );
  relay.on('error', (error) => log.warn({ err: error }, 'outbox relay error'));
  relay.start();
  return {
    pool,
    auth,
    rbac,
    paginator,
    outbox,
    log,
    async *messagesOf(chatId, signal) {
      for await (const [message] of on(committed, 'message', { signal }) as AsyncIterable<[Message]>) {
        if (message.chatId === chatId) yield message;
      }
    },
    async close() {
      await relay.stop();
      rbac.close();
      await auth.close();
    },
  };
}
