import type { Topology } from '@switchboard/infra';
import type { SystemUnderTest } from '../system.ts';
import { type DrillName, PAUSE_MS, REPLICA_DOWN_MS } from './options.ts';
import type { Delivery, SubscriberRecord } from './subscribers.ts';
import type { AttemptRecord, ReadRecord, SendRecord } from './traffic.ts';

/**
 * A delivery counts as live (through pub/sub, not back-filled from PostgreSQL) when it reached
 * the subscriber within this many ms of its send's acknowledgement: below the 200 ms a
 * subscription's feed waits for a skipped message before reading it from the database, so a
 * back-filled delivery cannot pass.
 */
export const LIVE_WITHIN_MS = 150;

export interface FaultContext {
  system: SystemUnderTest;
  topology: Topology;
  /** ms since the load started. */
  now: () => number;
  /** Tells the subscribers and the load that this instance is gone (before it is killed). */
  markDead: (instance: number) => void;
  log: (line: string) => void;
  /** Resolves at the end of the load: work that watches recovery stops there. */
  loadEnd: Promise<void>;
}

/** What the fault did, in ms since the load started. */
export interface FaultRun {
  /** When the fault began (the kill or the pause). */
  start: number;
  /** When the fault itself was over: the new master named, the replica back, the kill, the resume. */
  end: number;
  /** Named moments (`killed`, `promoted`, `resumed`, ...). */
  events: Record<string, number>;
  detail: Record<string, unknown>;
}

/** Everything the load and the subscribers saw. */
export interface Observed {
  sends: readonly SendRecord[];
  reads: readonly ReadRecord[];
  attempts: readonly AttemptRecord[];
  subscribers: readonly SubscriberRecord[];
  instances: number;
}

export interface Recovery {
  /** When the drill's recovery criterion was met (ms since the load started); null: never. */
  at: number | null;
  /** From the drill's reference moment (the kill, or the resume) to `at`. */
  ms: number | null;
  detail: Record<string, unknown>;
}

export interface Drill {
  name: DrillName;
  summary: string;
  /** What `recoveryMs` measures, for the report. */
  recoveryMeans: string;
  inject(context: FaultContext): Promise<FaultRun>;
  recovery(observed: Observed, fault: FaultRun): Recovery;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (ms: number) => Math.round(ms);
const since = (at: number | null, from: number) => (at === null ? null : round(at - from));

function firstDelivery(
  subscribers: readonly SubscriberRecord[],
  accept: (delivery: Delivery, subscriber: SubscriberRecord) => boolean,
): number | null {
  let first: number | null = null;
  for (const subscriber of subscribers) {
    for (const delivery of subscriber.received) {
      if ((first === null || delivery.at < first) && accept(delivery, subscriber)) first = delivery.at;
    }
  }
  return first;
}

const redisMasterKill: Drill = {
  name: 'redis-master-kill',
  summary: 'SIGKILL the Redis master; Sentinel promotes a replica',
  recoveryMeans:
    `from the kill to the first message delivered live through pub/sub after the new master was named: ` +
    `sent after that (first attempt), received within ${LIVE_WITHIN_MS} ms of its acknowledgement`,
  async inject({ topology, now, log }) {
    const group = topology.redis;
    if (!group) throw new Error('no Redis in the topology');
    const master = await group.currentMaster();
    const killed = now();
    await master.kill();
    log(`killed the Redis master ${master.name} (port ${master.port})`);
    const promoted = await group.waitForFailover(master, 30_000);
    const at = now();
    log(`Sentinels named ${promoted.name} (port ${promoted.port}) master after ${round(at - killed)} ms`);
    return {
      start: killed,
      end: at,
      events: { killed, promoted: at },
      detail: { killed: master.name, promoted: promoted.name, failoverMs: round(at - killed) },
    };
  },
  recovery({ sends, subscribers }, fault) {
    const promoted = fault.events.promoted as number;
    const byId = new Map(sends.flatMap((send) => (send.id ? [[send.id, send] as const] : [])));
    const at = firstDelivery(subscribers, (delivery) => {
      const send = byId.get(delivery.id);
      return (
        delivery.at > promoted &&
        send?.ackAt !== undefined &&
        send.firstStart >= promoted &&
        Math.abs(delivery.at - send.ackAt) <= LIVE_WITHIN_MS
      );
    });
    return { at, ms: since(at, fault.start), detail: {} };
  },
};

const replicaKill: Drill = {
  name: 'replica-kill',
  summary: `SIGKILL a PostgreSQL replica, restart it ${REPLICA_DOWN_MS / 1000} s later`,
  recoveryMeans: 'from the kill to the first read (started after the kill) answered successfully',
  async inject({ system, topology, now, log, loadEnd }) {
    const replica = topology.postgres?.replicas[0];
    if (!replica) throw new Error('no PostgreSQL replica in the topology');
    const killed = now();
    await replica.kill();
    log(`killed the PostgreSQL replica ${replica.name} (port ${replica.port})`);
    await sleep(Math.max(0, killed + REPLICA_DOWN_MS - now()));
    const restarting = now();
    await replica.restart();
    const restarted = now();
    log(`restarted ${replica.name}: ready after ${round(restarted - restarting)} ms`);
    // When every instance's db-router has it back in rotation (their /ready lists replica health).
    const rejoined = await waitForReplicas(system, loadEnd, now);
    if (rejoined !== null)
      log(`${replica.name} back in every instance's rotation ${round(rejoined - killed)} ms after the kill`);
    return {
      start: killed,
      end: restarted,
      events: { killed, restarted, ...(rejoined === null ? {} : { rejoined }) },
      detail: {
        killed: replica.name,
        restartMs: round(restarted - restarting),
        backInRotationMs: since(rejoined, killed),
      },
    };
  },
  recovery({ reads }, fault) {
    let at: number | null = null;
    for (const read of reads) {
      if (read.start >= fault.start && read.error === undefined && (at === null || read.end < at)) at = read.end;
    }
    const during = reads.filter((read) => read.end >= fault.start && read.start <= fault.end);
    return {
      at,
      ms: since(at, fault.start),
      detail: {
        readsWhileReplicaDown: during.length,
        failedReadsWhileReplicaDown: during.filter((read) => read.error !== undefined).length,
        failedReads: reads.filter((read) => read.error !== undefined).length,
      },
    };
  },
};

/** Polls every instance's /ready until all of them report every replica healthy; null if the load ends first. */
async function waitForReplicas(system: SystemUnderTest, loadEnd: Promise<void>, now: () => number) {
  let over = false;
  void loadEnd.then(() => {
    over = true;
  });
  while (!over) {
    const reports = await Promise.all(
      system.instances.map(async (instance) => {
        try {
          const response = await fetch(new URL('/ready', instance.url), { signal: AbortSignal.timeout(2_000) });
          return (await response.json()) as { checks?: { replicas?: { detail?: { healthy?: boolean }[] } } };
        } catch {
          return undefined;
        }
      }),
    );
    const healthy = reports.every((report) => {
      const replicas = report?.checks?.replicas?.detail;
      return replicas !== undefined && replicas.length > 0 && replicas.every((replica) => replica.healthy === true);
    });
    if (healthy) return now();
    await sleep(100);
  }
  return null;
}

const VICTIM = 1;

const instanceKill: Drill = {
  name: 'instance-kill',
  summary: 'SIGKILL one server instance; its clients move to the other and resume with `after`',
  recoveryMeans:
    'from the kill until every subscriber of the dead instance is connected to the other and has every message ' +
    'acknowledged before it reconnected, and every send that was in flight on it is acknowledged by the other',
  async inject({ system, now, markDead, log }) {
    const victim = system.instances[VICTIM];
    if (!victim?.process) throw new Error('instance-kill needs at least 2 instances started by the harness');
    markDead(VICTIM);
    const killed = now();
    await victim.process.kill();
    log(`killed ${victim.name} (pid ${victim.process.pid})`);
    return { start: killed, end: killed, events: { killed }, detail: { killed: victim.name } };
  },
  recovery({ sends, subscribers }, fault) {
    const killed = fault.start;
    const moved = subscribers.filter((subscriber) => subscriber.ends.some((end) => end.instance === VICTIM));
    const perChatAcks = new Map<number, { at: number; seq: number }[]>();
    for (const send of sends) {
      if (send.ackAt === undefined || send.seq === undefined) continue;
      const list = perChatAcks.get(send.chat) ?? [];
      list.push({ at: send.ackAt, seq: send.seq });
      perChatAcks.set(send.chat, list);
    }
    let latest: number | null = killed;
    const caughtUp: number[] = [];
    for (const subscriber of moved) {
      const end = subscriber.ends.find((item) => item.instance === VICTIM) as SubscriberRecord['ends'][number];
      const connection = subscriber.connections.find(
        (item) => item.startedAt >= end.at && item.instance !== VICTIM && item.connectedAt !== undefined,
      );
      if (!connection || connection.connectedAt === undefined) {
        latest = null;
        break;
      }
      const target = Math.max(
        0,
        ...(perChatAcks.get(subscriber.chat) ?? [])
          .filter((ack) => ack.at <= connection.startedAt)
          .map((ack) => ack.seq),
      );
      const before = subscriber.received.filter((delivery) => delivery.at < connection.startedAt);
      const had = Math.max(0, ...before.map((delivery) => delivery.seq));
      let at: number | undefined = connection.connectedAt;
      if (target > had) {
        const reached = subscriber.received.find(
          (delivery) => delivery.at >= connection.startedAt && delivery.seq >= target,
        );
        at = reached ? Math.max(reached.at, connection.connectedAt) : undefined;
      }
      if (at === undefined) {
        latest = null;
        break;
      }
      caughtUp.push(at - killed);
      latest = Math.max(latest, at);
    }
    // Sends that were on the dead instance when it died: acknowledged by the other one, retried.
    const inFlight = sends.filter(
      (send) => send.instances.includes(VICTIM) && (send.ackAt === undefined || send.ackAt > killed),
    );
    let sendsMovedAt: number | null = killed;
    for (const send of inFlight) {
      if (send.ackAt === undefined) sendsMovedAt = null;
      else if (sendsMovedAt !== null) sendsMovedAt = Math.max(sendsMovedAt, send.ackAt);
    }
    const at = latest === null || sendsMovedAt === null ? null : Math.max(latest, sendsMovedAt);
    const sorted = caughtUp.sort((a, b) => a - b);
    return {
      at,
      ms: since(at, killed),
      detail: {
        subscribersMoved: moved.length,
        subscribersCaughtUpMs:
          sorted.length > 0
            ? { first: round(sorted[0] as number), last: round(sorted.at(-1) as number) }
            : { first: null, last: null },
        sendsInFlightOnKill: inFlight.length,
        sendsInFlightAcknowledgedMs: since(sendsMovedAt, killed),
        sendsRetriedElsewhere: sends.filter(
          (send) => send.instances.includes(VICTIM) && send.instances.some((instance) => instance !== VICTIM),
        ).length,
      },
    };
  },
};

/** A write that takes longer than this during the pause is a hang, not a fast failure. */
export const FAIL_FAST_MS = 2_000;

const primaryPause: Drill = {
  name: 'primary-pause',
  summary: `SIGSTOP the PostgreSQL primary for ${PAUSE_MS / 1000} s, then SIGCONT`,
  recoveryMeans: 'from the resume to the first acknowledged send (a committed write) after it',
  async inject({ topology, now, log }) {
    const primary = topology.postgres?.primary;
    if (!primary) throw new Error('no PostgreSQL primary in the topology');
    const paused = now();
    primary.pause();
    log(`paused the PostgreSQL primary (SIGSTOP, port ${primary.port})`);
    try {
      await sleep(PAUSE_MS);
    } finally {
      primary.resume();
    }
    const resumed = now();
    log(`resumed the PostgreSQL primary after ${round(resumed - paused)} ms`);
    return { start: paused, end: resumed, events: { paused, resumed }, detail: {} };
  },
  recovery({ sends, attempts }, fault) {
    const resumed = fault.end;
    let at: number | null = null;
    for (const send of sends) {
      if (send.ackAt !== undefined && send.ackAt > resumed && (at === null || send.ackAt < at)) at = send.ackAt;
    }
    // Every send attempt that was running while the primary was stopped: how long it took from
    // the later of its start and the pause, and what it answered.
    const during = attempts.filter(
      (attempt) => attempt.op === 'send' && attempt.end > fault.start && attempt.start < resumed,
    );
    // (An attempt still unanswered at the resume waited at least until then.)
    const waited = (attempt: AttemptRecord) => Math.min(attempt.end, resumed) - Math.max(attempt.start, fault.start);
    let slowest = 0;
    const codes: Record<string, number> = {};
    for (const attempt of during) {
      slowest = Math.max(slowest, waited(attempt));
      const kind = attempt.error ?? 'ok';
      codes[kind] = (codes[kind] ?? 0) + 1;
    }
    const hung = during.filter((attempt) => waited(attempt) > FAIL_FAST_MS);
    const failed = during.filter((attempt) => attempt.error !== undefined);
    return {
      at,
      ms: since(at, resumed),
      detail: {
        writesDuringPause: {
          attempts: during.length,
          failed: failed.length,
          slowerThanFailFast: hung.length,
          slowestMs: round(slowest),
          answers: codes,
          failFast: hung.length === 0,
          clearError: failed.every((attempt) => attempt.error?.includes('DATABASE_UNAVAILABLE') === true),
        },
      },
    };
  },
};

export const DRILLS: Readonly<Record<DrillName, Drill>> = {
  'redis-master-kill': redisMasterKill,
  'replica-kill': replicaKill,
  'instance-kill': instanceKill,
  'primary-pause': primaryPause,
};
