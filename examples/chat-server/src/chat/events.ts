import type { OutboxEvent } from '@switchboard/tx';
import { createPubSub } from 'graphql-yoga';
import { MESSAGE_ADDED, MESSAGE_UPDATED, type Message } from './messages.ts';

export interface TypingEvent {
  chatId: string;
  userId: string;
}

/**
 * Live events per chat, inside this process (embedded mode). Messages get here only through the
 * outbox relay, after their transaction committed; typing is ephemeral and published directly.
 */
export function createChatEvents() {
  const pubsub = createPubSub<{
    'message:added': [chatId: string, message: Message];
    'message:updated': [chatId: string, message: Message];
    typing: [chatId: string, event: TypingEvent];
  }>();

  return {
    pubsub,
    /** The outbox relay's `publish`: an event it delivers more than once is deduplicated by subscribers (by seq). */
    publishOutboxEvent(event: OutboxEvent): void {
      const message = event.payload as Message;
      if (event.topic === MESSAGE_ADDED) pubsub.publish('message:added', message.chatId, message);
      else if (event.topic === MESSAGE_UPDATED) pubsub.publish('message:updated', message.chatId, message);
    },
  };
}

export type ChatEvents = ReturnType<typeof createChatEvents>;
