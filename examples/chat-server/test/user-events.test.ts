import { randomUUID } from 'node:crypto';
import type { Principal } from '@switchboard/auth';
import type { Rbac } from '@switchboard/rbac';
import type pg from 'pg';
import { describe, expect, test } from 'vitest';
import type { ChatDb } from '../src/chat/db.ts';
import { createChatEvents } from '../src/chat/events.ts';
import { MESSAGE_ADDED, type Message } from '../src/chat/messages.ts';
import { createUserEventStreams, USER_EVENT, type UserEvent, type UserEventPayload } from '../src/chat/user-events.ts';

const userId = randomUUID();
const chatId = randomUUID();
const viewer = { userId, sessionId: 's', claims: {} } as unknown as Principal;

/** The database as the streams read it: the user's one chat, 3 messages, read up to 1. */
function fakeDb(member: { active: boolean }): ChatDb {
  const query = async (text: string) => {
    if (text.includes('ORDER BY p.joined_at'))
      return { rows: [{ chat_id: chatId, last_seq: '3', last_read_seq: '1' }] };
    return { rows: member.active ? [{}] : [] };
  };
  return {
    primary: { query } as unknown as pg.Pool,
    readerFor: () => ({ query }) as never,
    afterWrite: async () => {},
  };
}

const message = (seq: number, senderId = randomUUID()): Message => ({
  id: randomUUID(),
  chatId,
  seq,
  content: `m${seq}`,
  senderId,
  createdAt: new Date().toISOString(),
  editedAt: null,
  editedById: null,
  deleted: false,
});

async function setup(ready = false) {
  const member = { active: true, allowed: true };
  const events = createChatEvents();
  const rbac = { can: async () => member.allowed } as unknown as Rbac;
  const streams = createUserEventStreams({ db: fakeDb(member), rbac, events });
  const { source, live } = await streams.open(viewer, ready);
  const received: UserEvent[] = [];
  const reading = (async () => {
    for await (const event of source) received.push(event);
  })();
  const relay = (payload: unknown, topic = MESSAGE_ADDED) =>
    events.publishOutboxEvent({
      id: randomUUID(),
      topic,
      key: 'k',
      payload,
      headers: {},
      createdAt: new Date(),
      attempts: 0,
      position: '0',
    });
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
  return {
    member,
    events,
    relay,
    received,
    settle,
    counts: () => received.map((event) => event.unreadCount?.count),
    close: async () => {
      await live.return?.();
      await reading;
    },
  };
}

describe('createUserEventStreams', () => {
  test('READY comes first when asked for, and only then', async () => {
    const asked = await setup(true);
    asked.relay(message(4));
    await asked.settle();
    expect(asked.received.map((event) => event.type)).toEqual(['READY', 'UNREAD_CHANGED']);
    expect(asked.received[0]).toEqual({ type: 'READY', chat: null, invitation: null, unreadCount: null });
    await asked.close();
    const plain = await setup();
    plain.relay(message(4));
    await plain.settle();
    expect(plain.received.map((event) => event.type)).toEqual(['UNREAD_CHANGED']);
    await plain.close();
  });

  test('READY waits until the event target confirmed the subscription (through Redis: its SUBSCRIBE answered)', async () => {
    let confirm = () => {};
    const confirmed = new Promise<void>((resolve) => {
      confirm = resolve;
    });
    const topics: string[] = [];
    const target = Object.assign(new EventTarget(), {
      subscribed: (topic: string) => {
        topics.push(topic);
        return confirmed;
      },
    });
    const events = createChatEvents({ eventTarget: target });
    const rbac = { can: async () => true } as unknown as Rbac;
    const streams = createUserEventStreams({ db: fakeDb({ active: true }), rbac, events });
    let opened = false;
    const opening = streams.open(viewer, true).then((stream) => {
      opened = true;
      return stream;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(opened).toBe(false);
    expect(topics).toEqual([`user:event:${userId}`]);
    confirm();
    const { source, live } = await opening;
    expect((await source.next()).value).toEqual({ type: 'READY', chat: null, invitation: null, unreadCount: null });
    await live.return?.();
  });

  test('unread counts follow sequence numbers: a repeated or late message changes nothing', async () => {
    const stream = await setup();
    stream.relay(message(4));
    stream.relay(message(4)); // delivered twice (the relay is at least once)
    stream.relay(message(3)); // late
    stream.relay(message(5));
    await stream.settle();
    expect(stream.counts()).toEqual([3, 4]);
    await stream.close();
  });

  test('your own message and your read marks bring the count down; unchanged counts say nothing', async () => {
    const stream = await setup();
    stream.relay(message(4, userId));
    await stream.settle();
    expect(stream.counts()).toEqual([0]);
    stream.relay(message(5));
    await stream.settle();
    const markedRead: UserEventPayload = {
      userId,
      type: 'UNREAD_CHANGED',
      unreadCount: { chatId, count: 0 },
      readSeq: 5,
    };
    stream.events.publishUserEvent(markedRead);
    stream.events.publishUserEvent(markedRead); // marked read again (another device): no change
    await stream.settle();
    expect(stream.counts()).toEqual([0, 1, 0]);
    await stream.close();
  });

  test('another user’s events and a chat you may no longer read stay silent', async () => {
    const stream = await setup();
    const invited = (to: string): UserEventPayload => ({
      userId: to,
      type: 'INVITED',
      chat: { id: chatId, kind: 'group', title: 't', ownerId: to, createdAt: '' },
    });
    stream.relay(invited(randomUUID()), USER_EVENT);
    stream.member.allowed = false;
    stream.member.active = false;
    stream.relay(message(4));
    await stream.settle();
    stream.member.allowed = true;
    stream.relay(message(5)); // no longer followed: it was dropped at the refusal
    stream.relay(invited(userId), USER_EVENT);
    await stream.settle();
    expect(stream.received.map((event) => [event.type, event.chat?.preview])).toEqual([['INVITED', true]]);
    await stream.close();
  });
});
