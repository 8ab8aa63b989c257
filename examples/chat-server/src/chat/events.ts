import { ENQUEUE_TRACEPARENT, type OutboxEvent } from '@switchboard/tx';
import { createPubSub } from 'graphql-yoga';
import { MESSAGE_ADDED, MESSAGE_UPDATED, type Message } from './messages.ts';
import { USER_EVENT, type UserEventPayload } from './user-events.ts';

export interface TypingEvent {
  chatId: string;
  userId: string;
}

/**
 * Live events per chat, and per user (`userEvents`): inside this process, or through Redis
 * pub/sub to every instance (`eventTarget`, cluster mode). Messages and membership events get
 * here only through the outbox relay, after their transaction committed; typing and read marks
 * are ephemeral and published directly.
 */
type ChatEventMap = {
  'message:added': [chatId: string, message: Message];
  'message:updated': [chatId: string, message: Message];
  typing: [chatId: string, event: TypingEvent];
  'user:event': [userId: string, event: UserEventPayload];
};

/** Where events travel: this process (default) or, e.g., graphql-yoga's Redis event target. */
/**
 * Where a published message carries the trace headers of its outbox event (only with telemetry:
 * the relay's `traceparent` and the enqueue's), so the instance that delivers it can make its
 * delivery span a child of the publish (`outbox.withDeliverySpan`). GraphQL never reads it.
 */
export const TRACE_HEADERS = 'traceHeaders';

/** The trace headers a published payload carries, if any. */
export function traceHeadersOf(payload: unknown): Record<string, string> | undefined {
  const headers = (payload as { [TRACE_HEADERS]?: unknown } | null)?.[TRACE_HEADERS];
  return typeof headers === 'object' && headers !== null ? (headers as Record<string, string>) : undefined;
}

/** `payload`, with the event's trace headers when it has any (telemetry on). */
function carryingTrace<T extends object>(payload: T, headers: Record<string, string>): T {
  if (headers.traceparent === undefined) return payload;
  const trace: Record<string, string> = { traceparent: headers.traceparent };
  if (headers.tracestate !== undefined) trace.tracestate = headers.tracestate;
  if (headers[ENQUEUE_TRACEPARENT] !== undefined) trace[ENQUEUE_TRACEPARENT] = headers[ENQUEUE_TRACEPARENT];
  return { ...payload, [TRACE_HEADERS]: trace };
}

export type ChatEventTarget = NonNullable<NonNullable<Parameters<typeof createPubSub<ChatEventMap>>[0]>['eventTarget']>;

/**
 * `eventTarget`: where events travel (this process by default). One with an awaitable `publish`
 * (createRedisEvents) makes the outbox relay wait until Redis took each message, and retry
 * those it refused.
 */
export function createChatEvents(
  options: {
    eventTarget?: ChatEventTarget & {
      publish?(topic: string, detail: unknown): Promise<void>;
      subscribed?(topic: string): Promise<void>;
    };
  } = {},
) {
  const { eventTarget } = options;
  const pubsub = createPubSub<ChatEventMap>(eventTarget ? { eventTarget } : {});
  // The topic yoga's pubsub gives `publish(routingKey, id, payload)`.
  const deliver = (
    routingKey: 'message:added' | 'message:updated' | 'user:event',
    id: string,
    payload: Message | UserEventPayload,
  ): Promise<void> | void => {
    if (eventTarget?.publish) return eventTarget.publish(`${routingKey}:${id}`, payload);
    (pubsub.publish as (routingKey: string, id: string, payload: unknown) => void)(routingKey, id, payload);
  };

  return {
    pubsub,
    /**
     * Resolves once this instance's subscription to `routingKey` for `id` is live: at once in
     * this process, after Redis confirmed the SUBSCRIBE with createRedisEvents.
     */
    listening(routingKey: keyof ChatEventMap, id: string): Promise<void> {
      return eventTarget?.subscribed?.(`${routingKey}:${id}`) ?? Promise.resolve();
    },
    /**
     * The outbox relay's `publish`. A `message:added` event delivered more than once is dropped
     * by the subscriptions (by seq), one that pub/sub loses is read from the database.
     */
    publishOutboxEvent(event: OutboxEvent): Promise<void> | void {
      if (event.topic === USER_EVENT) {
        const payload = event.payload as UserEventPayload;
        return deliver('user:event', payload.userId, payload);
      }
      const message = carryingTrace(event.payload as Message, event.headers);
      if (event.topic === MESSAGE_ADDED) return deliver('message:added', message.chatId, message);
      if (event.topic === MESSAGE_UPDATED) return deliver('message:updated', message.chatId, message);
    },

    /**
     * Straight to the user's streams, not through the outbox (as typing): a read mark. A lost one
     * (a Redis failover) leaves the user's other open streams an overstated count for that
     * chat until its next read mark (a stream opened later reads the counts afresh).
     */
    publishUserEvent(event: UserEventPayload): void {
      pubsub.publish('user:event', event.userId, event);
    },
  };
}

export type ChatEvents = ReturnType<typeof createChatEvents>;
