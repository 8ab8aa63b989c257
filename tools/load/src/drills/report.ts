import { quantile } from '../results.ts';
import type { Drill, FaultRun, Observed, Recovery } from './faults.ts';
import type { DrillOptions } from './options.ts';
import type { SubscriberRecord } from './subscribers.ts';

/** A message of the run as PostgreSQL has it after the drill. */
export interface StoredMessage {
  chat: number;
  seq: number;
  id: string;
  clientId: string | null;
  /** When its transaction began (PostgreSQL's `created_at`), on the load's clock. */
  createdAt: number;
}

export interface Target {
  met: boolean;
  value: number | boolean | null;
  /** The requirement, in words. */
  target: string;
}

/**
 * One drill's outcome. The fields up to `availability` are the contract (issue 18): tools and
 * READMEs read them by name.
 */
export interface DrillResult {
  drill: string;
  /** Sends answered with a message id (after retries). */
  acknowledged: number;
  /** Of those, how many ids are in PostgreSQL. */
  persisted: number;
  lost: number;
  /** Deliveries a subscriber got twice, plus messages stored twice for one `clientId` (see `duplicatesBy`). */
  duplicates: number;
  subscribers: number;
  /** Subscribers that received exactly the chat's messages of the run, each once, in order. */
  subscribersComplete: number;
  /** See `recoveryMeans`; null when the drill never recovered. */
  recoveryMs: number | null;
  /** Failed HTTP attempts (sends and reads) that overlapped the fault window. */
  errorsDuringFault: number;
  /** Successful / total HTTP attempts (every retry is an attempt), sends and reads, whole run. */
  availability: number;
  availabilityOutsideFault: number;
  recoveryMeans: string;
  /** issue 18's "Must reach", each checked. */
  targets: Record<string, Target>;
  passed: boolean;
  config: Pick<DrillOptions, 'rate' | 'readRate' | 'durationS' | 'faultAtS' | 'chats' | 'members'> & {
    users: number;
    instances: number;
  };
  /** From the fault's start to the later of its end and the recovery, ms since the load started. */
  faultWindowMs: { start: number; end: number };
  /** Moments of the fault, ms since the load started. */
  events: Record<string, number>;
  /** What the fault did and what recovery looked like, drill by drill. */
  fault: Record<string, unknown>;
  sends: {
    due: number;
    acknowledged: number;
    failed: number;
    attempts: number;
    retried: number;
    /**
     * Retried sends answered with a message stored before their last attempt left: the server
     * had stored an earlier attempt and answered the retry with it (idempotent `clientId`).
     */
    answeredWithOriginal: number;
    maxAttempts: number;
    /** From the due time to the acknowledgement, retries included. */
    latencyMs: { p50: number; p95: number; p99: number; max: number };
  };
  reads: { total: number; failed: number };
  requests: {
    total: number;
    failed: number;
    duringFault: number;
    outsideFault: number;
    failedOutsideFault: number;
  };
  errorKinds: Record<string, number>;
  duplicatesBy: { deliveries: number; sends: number };
  /** Messages stored whose send the load never saw acknowledged (an answer lost, or given up). */
  persistedUnacknowledged: number;
  subscriberDetail: {
    sse: number;
    ws: number;
    /** Streams resumed after their instance was killed. */
    resumed: number;
    /** Streams that ended while their instance was alive (never resumed: the subscriber stays incomplete). */
    unexpectedEnds: number;
    streamErrors: number;
    missing: number;
    outOfOrder: number;
    wrongId: number;
    /** The first few incomplete subscribers. */
    incomplete: {
      index: number;
      transport: string;
      instance: number;
      expected: number;
      received: number;
      missing: number;
      duplicates: number;
      ends: SubscriberRecord['ends'];
    }[];
  };
  /** From the send's acknowledgement to the subscriber's receipt (negative: before the answer arrived). */
  deliveryLatencyMs: { p50: number; p95: number; p99: number; max: number };
  /** Server instances that exited without being killed by the drill. */
  crashed: string[];
  /** Per second of the load: attempts, failed attempts, deliveries. */
  timeline: { second: number; attempts: number; failed: number; deliveries: number }[];
}

const ratio = (part: number, whole: number) => (whole === 0 ? 1 : Math.round((part / whole) * 1e6) / 1e6);
const latency = (values: number[]) => {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => Math.round(quantile(sorted, q) * 10) / 10;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1) };
};

/** Checks a subscriber's deliveries against what PostgreSQL has for its chat. */
function check(subscriber: SubscriberRecord, expected: readonly StoredMessage[]) {
  const idBySeq = new Map(expected.map((message) => [message.seq, message.id]));
  const seen = new Set<number>();
  let duplicates = 0;
  let outOfOrder = 0;
  let wrongId = 0;
  let extra = 0;
  let previous = Number.NEGATIVE_INFINITY;
  for (const delivery of subscriber.received) {
    if (seen.has(delivery.seq)) {
      duplicates++;
      continue;
    }
    seen.add(delivery.seq);
    if (delivery.seq <= previous) outOfOrder++;
    previous = Math.max(previous, delivery.seq);
    const id = idBySeq.get(delivery.seq);
    if (id === undefined) extra++;
    else if (id !== delivery.id) wrongId++;
  }
  const missing = expected.filter((message) => !seen.has(message.seq)).length;
  const complete = duplicates === 0 && outOfOrder === 0 && wrongId === 0 && extra === 0 && missing === 0;
  return { complete, duplicates, outOfOrder, wrongId, missing };
}

export function buildResult(input: {
  drill: Drill;
  options: DrillOptions;
  observed: Observed;
  fault: FaultRun;
  recovery: Recovery;
  stored: readonly StoredMessage[];
  crashed: string[];
  users: number;
}): DrillResult {
  const { drill, options, observed, fault, recovery, stored } = input;
  const { sends, reads, attempts, subscribers } = observed;

  const window = { start: fault.start, end: Math.max(fault.end, recovery.at ?? Number.POSITIVE_INFINITY) };
  const overlaps = (attempt: { start: number; end: number }) =>
    attempt.end >= window.start && attempt.start <= window.end;
  const failed = attempts.filter((attempt) => attempt.error !== undefined);
  const inWindow = attempts.filter(overlaps);
  const outside = attempts.filter((attempt) => !overlaps(attempt));
  const failedOutside = outside.filter((attempt) => attempt.error !== undefined).length;
  const errorKinds: Record<string, number> = {};
  for (const attempt of failed) {
    const kind = `${attempt.op}: ${attempt.error}`;
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  }

  const acknowledged = sends.filter((send) => send.id !== undefined);
  const storedIds = new Set(stored.map((message) => message.id));
  const persisted = acknowledged.filter((send) => storedIds.has(send.id as string)).length;
  const ackedIds = new Set(acknowledged.map((send) => send.id as string));
  const createdAtById = new Map(stored.map((message) => [message.id, message.createdAt]));
  const perClientId = new Map<string, number>();
  for (const message of stored) {
    if (message.clientId !== null) perClientId.set(message.clientId, (perClientId.get(message.clientId) ?? 0) + 1);
  }
  const duplicateSends = [...perClientId.values()].reduce((sum, count) => sum + Math.max(0, count - 1), 0);

  const byChat = new Map<number, StoredMessage[]>();
  for (const message of stored) {
    const list = byChat.get(message.chat) ?? [];
    list.push(message);
    byChat.set(message.chat, list);
  }
  for (const list of byChat.values()) list.sort((a, b) => a.seq - b.seq);
  let complete = 0;
  let duplicateDeliveries = 0;
  let missing = 0;
  let outOfOrder = 0;
  let wrongId = 0;
  const incomplete: DrillResult['subscriberDetail']['incomplete'] = [];
  for (const subscriber of subscribers) {
    const expected = byChat.get(subscriber.chat) ?? [];
    const verdict = check(subscriber, expected);
    duplicateDeliveries += verdict.duplicates;
    missing += verdict.missing;
    outOfOrder += verdict.outOfOrder;
    wrongId += verdict.wrongId;
    if (verdict.complete) complete++;
    else if (incomplete.length < 5) {
      incomplete.push({
        index: subscriber.index,
        transport: subscriber.transport,
        instance: subscriber.instance,
        expected: expected.length,
        received: subscriber.received.length,
        missing: verdict.missing,
        duplicates: verdict.duplicates,
        ends: subscriber.ends,
      });
    }
  }

  const ackAt = new Map(acknowledged.map((send) => [send.id as string, send.ackAt as number]));
  const deliveryLatencies: number[] = [];
  for (const subscriber of subscribers) {
    for (const delivery of subscriber.received) {
      const at = ackAt.get(delivery.id);
      if (at !== undefined) deliveryLatencies.push(delivery.at - at);
    }
  }

  const seconds = Math.ceil(options.durationS);
  const timeline = Array.from({ length: seconds }, (_, second) => ({ second, attempts: 0, failed: 0, deliveries: 0 }));
  const bucket = (at: number) => timeline[Math.min(seconds - 1, Math.max(0, Math.floor(at / 1000)))];
  for (const attempt of attempts) {
    const entry = bucket(attempt.start);
    if (!entry) continue;
    entry.attempts++;
    if (attempt.error !== undefined) entry.failed++;
  }
  for (const subscriber of subscribers) {
    for (const delivery of subscriber.received) {
      const entry = bucket(delivery.at);
      if (entry) entry.deliveries++;
    }
  }

  const lost = acknowledged.length - persisted;
  const duplicates = duplicateDeliveries + duplicateSends;
  const availability = ratio(attempts.length - failed.length, attempts.length);
  const availabilityOutsideFault = ratio(outside.length - failedOutside, outside.length);
  const targets: Record<string, Target> = {
    noLoss: { met: lost === 0, value: lost, target: 'every acknowledged message is in PostgreSQL (lost 0)' },
    subscribersComplete: {
      met: complete === subscribers.length,
      value: complete,
      target: `every subscriber has every message of its chat once, in order (${subscribers.length})`,
    },
    noDuplicates: { met: duplicates === 0, value: duplicates, target: 'duplicates 0' },
    availabilityOutsideFault: {
      met: availabilityOutsideFault >= 0.999,
      value: availabilityOutsideFault,
      target: '>= 0.999 outside the fault window',
    },
    recovered: { met: recovery.ms !== null, value: recovery.ms, target: 'recovers by itself during the run' },
    noCrash: { met: input.crashed.length === 0, value: input.crashed.length, target: 'no server exits by itself' },
  };
  if (drill.name === 'redis-master-kill') {
    targets.redisFailoverRecovery = {
      met: recovery.ms !== null && recovery.ms < 5_000,
      value: recovery.ms,
      target: 'recoveryMs < 5000',
    };
  }
  if (drill.name === 'replica-kill') {
    const failedReads = reads.filter((read) => read.error !== undefined).length;
    targets.noFailedRead = { met: failedReads === 0, value: failedReads, target: 'no failed read' };
  }
  if (drill.name === 'primary-pause') {
    const pause = recovery.detail.writesDuringPause as { failFast: boolean; clearError: boolean; slowestMs: number };
    targets.writesFailFast = {
      met: pause.failFast,
      value: pause.slowestMs,
      target: 'every write during the pause answered within 2000 ms',
    };
    targets.clearError = {
      met: pause.clearError,
      value: pause.clearError,
      target: 'every write refused during the pause says DATABASE_UNAVAILABLE',
    };
  }

  const sendLatencies = acknowledged.map((send) => (send.ackAt as number) - send.due);
  return {
    drill: drill.name,
    acknowledged: acknowledged.length,
    persisted,
    lost,
    duplicates,
    subscribers: subscribers.length,
    subscribersComplete: complete,
    recoveryMs: recovery.ms,
    errorsDuringFault: inWindow.filter((attempt) => attempt.error !== undefined).length,
    availability,
    availabilityOutsideFault,
    recoveryMeans: drill.recoveryMeans,
    targets,
    passed: Object.values(targets).every((target) => target.met),
    config: {
      rate: options.rate,
      readRate: options.readRate,
      durationS: options.durationS,
      faultAtS: options.faultAtS,
      chats: options.chats,
      members: options.members,
      users: input.users,
      instances: observed.instances,
    },
    faultWindowMs: {
      start: Math.round(window.start),
      end: Math.round(Number.isFinite(window.end) ? window.end : options.durationS * 1000),
    },
    events: Object.fromEntries(Object.entries(fault.events).map(([name, at]) => [name, Math.round(at)])),
    fault: { ...fault.detail, ...recovery.detail },
    sends: {
      due: sends.length,
      acknowledged: acknowledged.length,
      failed: sends.length - acknowledged.length,
      attempts: attempts.filter((attempt) => attempt.op === 'send').length,
      retried: sends.filter((send) => send.attempts > 1).length,
      answeredWithOriginal: sends.filter((send) => {
        const createdAt = send.id === undefined ? undefined : createdAtById.get(send.id);
        return send.attempts > 1 && createdAt !== undefined && createdAt < send.lastStart;
      }).length,
      maxAttempts: Math.max(0, ...sends.map((send) => send.attempts)),
      latencyMs: latency(sendLatencies),
    },
    reads: { total: reads.length, failed: reads.filter((read) => read.error !== undefined).length },
    requests: {
      total: attempts.length,
      failed: failed.length,
      duringFault: inWindow.length,
      outsideFault: outside.length,
      failedOutsideFault: failedOutside,
    },
    errorKinds,
    duplicatesBy: { deliveries: duplicateDeliveries, sends: duplicateSends },
    persistedUnacknowledged: stored.filter((message) => !ackedIds.has(message.id)).length,
    subscriberDetail: {
      sse: subscribers.filter((subscriber) => subscriber.transport === 'sse').length,
      ws: subscribers.filter((subscriber) => subscriber.transport === 'ws').length,
      resumed: subscribers.reduce((sum, subscriber) => sum + subscriber.ends.filter((end) => end.resumed).length, 0),
      unexpectedEnds: subscribers.reduce(
        (sum, subscriber) => sum + subscriber.ends.filter((end) => !end.resumed).length,
        0,
      ),
      streamErrors: subscribers.reduce((sum, subscriber) => sum + subscriber.errors.length, 0),
      missing,
      outOfOrder,
      wrongId,
      incomplete,
    },
    deliveryLatencyMs: latency(deliveryLatencies),
    crashed: input.crashed,
    timeline,
  };
}

/** A few lines for the terminal. */
export function summary(result: DrillResult): string {
  const percent = (value: number) => `${(value * 100).toFixed(3)} %`;
  const lines = [
    `drill ${result.drill}: ${result.passed ? 'every target met' : 'TARGETS MISSED'}`,
    `  sends acknowledged ${result.acknowledged} of ${result.sends.due}, in PostgreSQL ${result.persisted}, lost ${result.lost}, duplicates ${result.duplicates}`,
    `  subscribers complete ${result.subscribersComplete} of ${result.subscribers} (resumed ${result.subscriberDetail.resumed}, unexpected ends ${result.subscriberDetail.unexpectedEnds})`,
    `  recoveryMs ${result.recoveryMs ?? 'never'} (${result.recoveryMeans})`,
    `  availability ${percent(result.availability)} overall, ${percent(result.availabilityOutsideFault)} outside the fault window ${result.faultWindowMs.start}-${result.faultWindowMs.end} ms; ${result.errorsDuringFault} errors during the fault`,
  ];
  if (Object.keys(result.errorKinds).length) lines.push(`  errors: ${JSON.stringify(result.errorKinds)}`);
  for (const [name, target] of Object.entries(result.targets)) {
    if (!target.met) lines.push(`  missed ${name}: ${JSON.stringify(target.value)} (${target.target})`);
  }
  return lines.join('\n');
}
