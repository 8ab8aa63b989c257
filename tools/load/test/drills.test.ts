import { describe, expect, test } from 'vitest';
import { DRILLS, type FaultRun, type Observed } from '../src/drills/faults.ts';
import { parseDrillOptions } from '../src/drills/options.ts';
import { buildResult, type StoredMessage } from '../src/drills/report.ts';
import type { SubscriberRecord } from '../src/drills/subscribers.ts';
import type { AttemptRecord, SendRecord } from '../src/drills/traffic.ts';
import { UsageError } from '../src/options.ts';

const send = (index: number, chat: number, fields: Partial<SendRecord> = {}): SendRecord => ({
  index,
  chat,
  user: 0,
  clientId: `c${index}`,
  due: index * 10,
  firstStart: index * 10,
  lastStart: index * 10,
  attempts: 1,
  instances: [0],
  ...fields,
});

const subscriber = (
  index: number,
  chat: number,
  received: [seq: number, id: string, at: number][],
  fields: Partial<SubscriberRecord> = {},
): SubscriberRecord => ({
  index,
  chat,
  user: 0,
  transport: index % 2 ? 'ws' : 'sse',
  instance: 0,
  received: received.map(([seq, id, at]) => ({ seq, id, at })),
  connections: [{ instance: 0, after: 'start', startedAt: -100, connectedAt: -50 }],
  ends: [],
  errors: [],
  ...fields,
});

const attempt = (start: number, end: number, error?: string, op: 'send' | 'read' = 'send'): AttemptRecord => ({
  op,
  instance: 0,
  start,
  end,
  error,
});

const observed = (fields: Partial<Observed>): Observed => ({
  sends: [],
  reads: [],
  attempts: [],
  subscribers: [],
  instances: 2,
  ...fields,
});

describe('parseDrillOptions', () => {
  test('modest defaults: 100 sends/s over 40 chats, 100 subscribers, 30 s with the fault at 10 s', () => {
    expect(parseDrillOptions(['redis-master-kill'])).toMatchObject({
      drill: 'redis-master-kill',
      rate: 100,
      readRate: 20,
      durationS: 30,
      faultAtS: 10,
      chats: 40,
      members: 5,
      subscribers: 100,
    });
    expect(parseDrillOptions(['replica-kill', '--duration', '12']).faultAtS).toBe(4);
  });

  test('refuses an unknown drill, a run too short to see recovery, more subscribers than participants', () => {
    expect(() => parseDrillOptions(['meteor-strike'])).toThrow(UsageError);
    expect(() => parseDrillOptions(['primary-pause', '--duration', '9', '--fault-at', '3'])).toThrow(
      /at least 7 s of load after the fault/,
    );
    expect(() => parseDrillOptions(['instance-kill', '--chats', '2', '--members', '2', '--subscribers', '5'])).toThrow(
      /cannot exceed/,
    );
    expect(() => parseDrillOptions(['instance-kill', '--rate', 'fast'])).toThrow(/--rate must be a number/);
  });
});

describe('buildResult', () => {
  const options = parseDrillOptions(['replica-kill', '--duration', '10', '--fault-at', '1']);
  const stored: StoredMessage[] = [
    { chat: 0, seq: 2, id: 'a', clientId: 'c0', createdAt: 5 },
    { chat: 0, seq: 3, id: 'b', clientId: 'c1', createdAt: 15 },
    { chat: 0, seq: 4, id: 'c', clientId: 'c2', createdAt: 25 },
    { chat: 1, seq: 2, id: 'd', clientId: 'c3', createdAt: 35 },
  ];
  const fault: FaultRun = { start: 1_000, end: 2_000, events: { killed: 1_000 }, detail: {} };

  test('an acknowledged id missing from PostgreSQL is lost; a repeated, missing or reordered delivery makes a subscriber incomplete', () => {
    const sends = [
      send(0, 0, { id: 'a', seq: 2, ackAt: 10 }),
      send(1, 0, { id: 'b', seq: 3, ackAt: 20 }),
      send(2, 0, { id: 'c', seq: 4, ackAt: 30 }),
      // Its first attempt stored the message, its answer was lost; the retry got the original.
      send(3, 1, { id: 'd', seq: 2, ackAt: 40, attempts: 2, lastStart: 38 }),
      send(4, 1, { id: 'x', seq: 3, ackAt: 50 }),
      send(5, 1, { failure: 'http 503 DATABASE_UNAVAILABLE' }),
    ];
    const subscribers = [
      subscriber(0, 0, [
        [2, 'a', 11],
        [3, 'b', 21],
        [3, 'b', 22],
        [4, 'c', 31],
      ]),
      subscriber(1, 0, [
        [2, 'a', 11],
        [4, 'c', 31],
      ]),
      subscriber(2, 0, [
        [2, 'a', 11],
        [4, 'c', 31],
        [3, 'b', 32],
      ]),
      subscriber(3, 1, [[2, 'd', 41]]),
    ];
    const result = buildResult({
      drill: DRILLS['replica-kill'],
      options,
      observed: observed({ sends, subscribers }),
      fault,
      recovery: { at: 1_050, ms: 50, detail: {} },
      stored,
      crashed: [],
      users: 200,
    });
    expect(result).toMatchObject({
      acknowledged: 5,
      persisted: 4,
      lost: 1,
      duplicates: 1,
      duplicatesBy: { deliveries: 1, sends: 0 },
      subscribers: 4,
      subscribersComplete: 1,
      recoveryMs: 50,
      passed: false,
    });
    expect(result.subscriberDetail).toMatchObject({ missing: 1, outOfOrder: 1, wrongId: 0, sse: 2, ws: 2 });
    expect(result.sends).toMatchObject({ due: 6, acknowledged: 5, failed: 1, retried: 1, answeredWithOriginal: 1 });
    expect(result.targets.noLoss?.met).toBe(false);
    expect(result.targets.subscribersComplete?.met).toBe(false);
  });

  test('availability counts every attempt; the fault window runs from the fault to the later of its end and the recovery', () => {
    const attempts = [
      ...Array.from({ length: 996 }, (_, i) => attempt(i * 10, i * 10 + 5)),
      attempt(900, 1_100, 'network ECONNRESET'),
      attempt(2_400, 2_450, 'http 503 DATABASE_UNAVAILABLE'),
      attempt(5_000, 5_010, 'graphql RATE_LIMITED', 'read'),
      attempt(6_000, 6_010, 'timeout'),
    ];
    const result = buildResult({
      drill: DRILLS['replica-kill'],
      options,
      observed: observed({ attempts }),
      fault,
      recovery: { at: 2_500, ms: 1_500, detail: {} },
      stored: [],
      crashed: [],
      users: 200,
    });
    expect(result.faultWindowMs).toEqual({ start: 1_000, end: 2_500 });
    expect(result.errorsDuringFault).toBe(2);
    expect(result.availability).toBe(0.996);
    expect(result.requests).toMatchObject({ total: 1_000, failed: 4, failedOutsideFault: 2 });
    expect(result.availabilityOutsideFault).toBeCloseTo(1 - 2 / result.requests.outsideFault, 6);
    expect(result.targets.availabilityOutsideFault?.met).toBe(false);
    expect(result.errorKinds).toEqual({
      'send: network ECONNRESET': 1,
      'send: http 503 DATABASE_UNAVAILABLE': 1,
      'read: graphql RATE_LIMITED': 1,
      'send: timeout': 1,
    });
  });
});

describe('recovery', () => {
  test('redis-master-kill: the first delivery after the promotion of a message sent after it, within 150 ms of its acknowledgement', () => {
    const fault: FaultRun = { start: 1_000, end: 4_000, events: { killed: 1_000, promoted: 4_000 }, detail: {} };
    const sends = [
      // Sent during the failover: delivered after it, but its path ran before the new master.
      send(0, 0, { id: 'early', firstStart: 3_000, ackAt: 4_090 }),
      // Sent after, but delivered 340 ms after its acknowledgement: back-filled, not live.
      send(1, 0, { id: 'filled', firstStart: 4_050, ackAt: 4_060 }),
      send(2, 0, { id: 'live', firstStart: 4_200, ackAt: 4_210 }),
    ];
    const subscribers = [
      subscriber(
        0,
        0,
        [
          ['early', 4_100],
          ['filled', 4_400],
          ['live', 4_230],
        ].map(([id, at], seq) => [seq + 2, id as string, at as number]),
      ),
    ];
    const recovery = DRILLS['redis-master-kill'].recovery(observed({ sends, subscribers }), fault);
    expect(recovery).toMatchObject({ at: 4_230, ms: 3_230 });
  });

  test('primary-pause: a write that waits out the pause is a hang; recovery is the first acknowledgement after the resume', () => {
    const fault: FaultRun = { start: 1_000, end: 6_000, events: { paused: 1_000, resumed: 6_000 }, detail: {} };
    const attempts = [
      attempt(1_500, 2_600, 'http 503 DATABASE_UNAVAILABLE'),
      attempt(3_000, 6_100),
      attempt(3_500, 14_000, 'timeout'),
    ];
    const sends = [send(0, 0, { id: 'a', ackAt: 6_100 }), send(1, 0, { id: 'b', ackAt: 6_050 })];
    const recovery = DRILLS['primary-pause'].recovery(observed({ sends, attempts }), fault);
    expect(recovery.ms).toBe(50);
    expect(recovery.detail.writesDuringPause).toEqual({
      attempts: 3,
      failed: 2,
      slowerThanFailFast: 2,
      slowestMs: 3_000,
      answers: { 'http 503 DATABASE_UNAVAILABLE': 1, ok: 1, timeout: 1 },
      failFast: false,
      clearError: false,
    });
  });

  test('instance-kill: until every subscriber of the dead instance has resumed and caught up, and its sends in flight are acknowledged', () => {
    const fault: FaultRun = { start: 3_000, end: 3_000, events: { killed: 3_000 }, detail: {} };
    const sends = [
      send(0, 0, { id: 'a', seq: 4, ackAt: 2_900 }),
      send(1, 0, { id: 'b', seq: 5, ackAt: 3_001, instances: [1, 0] }),
      send(2, 0, { id: 'c', seq: 6, ackAt: 3_200 }),
    ];
    const moved = subscriber(
      0,
      0,
      [
        [4, 'a', 2_901],
        [5, 'b', 3_060],
        [6, 'c', 3_201],
      ],
      {
        instance: 0,
        connections: [
          { instance: 1, after: 'start', startedAt: -100, connectedAt: -50 },
          { instance: 0, after: 'cursor-4', startedAt: 3_005, connectedAt: 3_040 },
        ],
        ends: [{ at: 3_004, instance: 1, reason: 'TypeError: terminated', resumed: true }],
      },
    );
    const recovery = DRILLS['instance-kill'].recovery(observed({ sends, subscribers: [moved] }), fault);
    expect(recovery.at).toBe(3_060);
    expect(recovery.ms).toBe(60);
    expect(recovery.detail).toMatchObject({ subscribersMoved: 1, sendsInFlightOnKill: 1 });
  });
});
