import { type LatencyMs, quantile, round } from '../results.ts';
import type { Deliveries, SentMessage } from './client-protocol.ts';

export interface DeliveryCount {
  expectedDeliveries: number;
  delivered: number;
  lost: number;
  duplicates: number;
  /** Receipts by a subscriber of another chat (never expected; a server bug). */
  misrouted: number;
  /** The sender's own subscription receiving its message: received, neither expected nor counted. */
  echoes: number;
  deliveryLatencyMs: LatencyMs;
}

/**
 * Matches receipts with the acknowledged messages of a run. A message is expected once at every
 * subscriber of its chat but its sender (who has it from the sendMessage answer; the server
 * echoes it to the sender too, and that echo is not counted). Receipts of other messages
 * (warm-up, priming, probes) are ignored; a second receipt of an expected one is a duplicate.
 * Latency runs from the acknowledgement to the first receipt.
 */
export class DeliveryLedger {
  private readonly messages = new Map<string, SentMessage>();
  private readonly subscribersOf = new Map<string, number[]>();
  private readonly chatOf: ReadonlyMap<number, string>;
  private readonly firstAt = new Map<string, number>();
  private expected = 0;
  private duplicates = 0;
  private misrouted = 0;
  private echoes = 0;

  /** `subscriptions`: each subscriber (user index) and the chat id it subscribed to. */
  constructor(sent: readonly SentMessage[], subscriptions: ReadonlyMap<number, string>) {
    this.chatOf = subscriptions;
    for (const [user, chatId] of subscriptions) {
      const list = this.subscribersOf.get(chatId) ?? [];
      list.push(user);
      this.subscribersOf.set(chatId, list);
    }
    for (const message of sent) {
      this.messages.set(message.id, message);
      const subscribers = this.subscribersOf.get(message.chatId) ?? [];
      this.expected += subscribers.length - (subscribers.includes(message.user) ? 1 : 0);
    }
  }

  add(deliveries: Deliveries): void {
    for (let i = 0; i < deliveries.id.length; i++) {
      const id = deliveries.id[i] as string;
      const message = this.messages.get(id);
      if (!message) continue;
      const user = deliveries.user[i] as number;
      if (this.chatOf.get(user) !== message.chatId) {
        this.misrouted++;
        continue;
      }
      const key = `${user} ${id}`;
      if (this.firstAt.has(key)) {
        this.duplicates++;
      } else if (user === message.user) {
        // The first echo is remembered too, so that a second one counts as a duplicate.
        this.echoes++;
        this.firstAt.set(key, Number.NaN);
      } else {
        this.firstAt.set(key, (deliveries.at[i] as number) - message.ackAt);
      }
    }
  }

  /** Expected receipts that arrived (the first of each). */
  get delivered(): number {
    return this.firstAt.size - this.echoes;
  }

  get complete(): boolean {
    return this.delivered >= this.expected;
  }

  count(): DeliveryCount {
    const latencies = Float64Array.from([...this.firstAt.values()].filter((value) => !Number.isNaN(value))).sort();
    return {
      expectedDeliveries: this.expected,
      delivered: this.delivered,
      lost: this.expected - this.delivered,
      duplicates: this.duplicates,
      misrouted: this.misrouted,
      echoes: this.echoes,
      deliveryLatencyMs: {
        p50: round(quantile(latencies, 0.5), 2),
        p95: round(quantile(latencies, 0.95), 2),
        p99: round(quantile(latencies, 0.99), 2),
        max: round(quantile(latencies, 1), 2),
      },
    };
  }
}
