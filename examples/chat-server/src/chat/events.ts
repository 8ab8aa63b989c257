import type { OutboxEvent } from '@switchboard/tx';
import { createPubSub } from 'graphql-yoga';
import { MESSAGE_ADDED, MESSAGE_UPDATED, type Message } from './messages.ts';

export interface TypingEvent {
  chatId: string;
  userId: string;
}

/**
 * Live events per chat: inside this process, or through Redis pub/sub to every instance
 * (`eventTarget`, cluster mode). Messages get here only through the outbox relay, after their
 * transaction committed; typing is ephemeral and published directly.
 */
type ChatEventMap = {
  'message:added': [chatId: string, message: Message];
  'message:updated': [chatId: string, message: Message];
  typing: [chatId: string, event: TypingEvent];
};

/** Where events travel: this process (default) or, e.g., graphql-yoga's Redis event target. */
export type ChatEventTarget = NonNullable<NonNullable<Parameters<typeof createPubSub<ChatEventMap>>[0]>['eventTarget']>;

export function createChatEvents(options: { eventTarget?: ChatEventTarget } = {}) {
  const pubsub = createPubSub<ChatEventMap>(options.eventTarget ? { eventTarget: options.eventTarget } : {});

  return {
    pubsub,
    /**
     * The outbox relay's `publish`. A `message:added` event delivered more than once is dropped
     * by the subscriptions (by seq), one that pub/sub loses is read from the database.
     */
    publishOutboxEvent(event: OutboxEvent): void {
      const message = event.payload as Message;
      if (event.topic === MESSAGE_ADDED) pubsub.publish('message:added', message.chatId, message);
      else if (event.topic === MESSAGE_UPDATED) pubsub.publish('message:updated', message.chatId, message);
    },
  };
}

export type ChatEvents = ReturnType<typeof createChatEvents>;
