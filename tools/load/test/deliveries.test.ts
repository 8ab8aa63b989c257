import { describe, expect, test } from 'vitest';
import type { Deliveries, SentMessage } from '../src/scenarios/client-protocol.ts';
import { DeliveryLedger } from '../src/scenarios/deliveries.ts';

// Users 1, 2, 3 listen to chat A; user 4 to chat B.
const subscriptions = new Map([
  [1, 'A'],
  [2, 'A'],
  [3, 'A'],
  [4, 'B'],
]);
const sent: SentMessage[] = [
  { id: 'm1', user: 1, chatId: 'A', due: 0, ackAt: 1000 },
  { id: 'm2', user: 4, chatId: 'B', due: 10, ackAt: 1010 },
  // Sent by a member who does not listen to A: all three subscribers expect it.
  { id: 'm3', user: 9, chatId: 'A', due: 20, ackAt: 1020 },
];
const deliveries = (rows: [user: number, id: string, at: number][]): Deliveries => ({
  user: rows.map((row) => row[0]),
  id: rows.map((row) => row[1]),
  at: rows.map((row) => row[2]),
});

describe('DeliveryLedger', () => {
  test('expects each message at every subscriber of its chat but its sender', () => {
    const ledger = new DeliveryLedger(sent, subscriptions);
    // m1: users 2 and 3; m2: nobody (its sender is B's only subscriber); m3: users 1, 2 and 3.
    expect(ledger.count()).toMatchObject({ expectedDeliveries: 5, delivered: 0, lost: 5, duplicates: 0 });
    expect(ledger.complete).toBe(false);
  });

  test('counts first receipts, echoes, duplicates, misrouted and unknown messages apart', () => {
    const ledger = new DeliveryLedger(sent, subscriptions);
    ledger.add(
      deliveries([
        [2, 'm1', 1004],
        [3, 'm1', 1010],
        [1, 'm1', 1001], // the sender's echo: not counted
        [4, 'm2', 1011], // the sender's echo
        [1, 'm3', 1030],
        [2, 'm3', 1040],
        [3, 'm3', 1050],
        [2, 'm1', 1100], // a second receipt
        [1, 'm1', 1101], // a second echo
        [4, 'm1', 1102], // B's subscriber got A's message
        [2, 'warm-up', 900], // not a message of this run
      ]),
    );
    const count = ledger.count();
    expect(count).toMatchObject({
      expectedDeliveries: 5,
      delivered: 5,
      lost: 0,
      duplicates: 2,
      misrouted: 1,
      echoes: 2,
    });
    expect(ledger.complete).toBe(true);
    // From the acknowledgement: 4, 10, 10, 20, 30 ms.
    expect(count.deliveryLatencyMs).toEqual({ p50: 10, p95: 30, p99: 30, max: 30 });
  });

  test('a subscriber that missed a message leaves it lost', () => {
    const ledger = new DeliveryLedger(sent, subscriptions);
    ledger.add(deliveries([[2, 'm1', 1004]]));
    ledger.add(deliveries([[3, 'm1', 1005]]));
    expect(ledger.count()).toMatchObject({ delivered: 2, lost: 3 });
  });
});
