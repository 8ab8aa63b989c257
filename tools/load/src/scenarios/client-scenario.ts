import type { MeasureOptions } from '../measure.ts';
import { type LoadResult, round, summarize } from '../results.ts';
import type { Plan } from './client-protocol.ts';
import { type Clients, type Establishment, startClients } from './clients.ts';
import { countPersisted, serverWorkload } from './common.ts';
import type { PreparedScenario, ScenarioContext } from './types.ts';

/**
 * What fanout and mixed share: client workers hold the users' subscriptions (opened and proven
 * live once, before the first run) and send their requests; each run is summarized as the
 * open-loop runner's are, plus every expected delivery counted.
 */
export function clientScenario(
  context: ScenarioContext,
  setup: {
    plan: Plan;
    subscribes: (user: number) => boolean;
    /** Adds the scenario's own fields to a run's result. */
    extend?: (result: LoadResult, run: Awaited<ReturnType<Clients['run']>>) => void;
  },
): PreparedScenario {
  const { system, world, options } = context;
  let clients: Promise<{ clients: Clients; established: Establishment }> | undefined;
  let live: Clients | undefined;
  const log = context.log ?? (() => {});
  const start = () => {
    clients ??= (async () => {
      // Subscriptions keep the token they opened with (a stream ends when it expires).
      await world.refreshTokens(60_000);
      const started = await startClients({
        context,
        subscribes: setup.subscribes,
        workers: options?.workers ?? 1,
        connections: options?.connections ?? 8,
        log,
      });
      live = started;
      try {
        return { clients: started, established: await started.establish() };
      } catch (error) {
        await started.close();
        throw error;
      }
    })();
    return clients;
  };
  const processes = serverWorkload(context, []).processes;

  return {
    async measure(rate: number, measure: MeasureOptions): Promise<LoadResult> {
      if (measure.signal?.aborted) throw new Error('stopped');
      // Ctrl-C: the workers go at once, and whatever waits on them rejects.
      const abort = () => live?.kill();
      measure.signal?.addEventListener('abort', abort, { once: true });
      let established: Establishment;
      let outcome: Awaited<ReturnType<Clients['run']>>;
      try {
        const started = await start();
        established = started.established;
        outcome = await started.clients.run(setup.plan, rate, measure, processes);
      } finally {
        measure.signal?.removeEventListener('abort', abort);
      }
      const result = summarize(outcome.run, {
        scenario: measure.scenario,
        mode: measure.mode,
        instances: measure.instances,
        cpuMeasured: Object.values(processes()).some((pids) => pids.length > 0),
      });
      const count = outcome.ledger.count();
      const { misrouted, echoes, ...contract } = count;
      Object.assign(result, {
        subscribers: established.subscribers,
        ...contract,
        memoryPerSubscriberKiB: established.memoryPerSubscriberKiB,
        misrouted,
        echoes,
        cpuMsPerDelivery:
          result.cpuMsPerOp === null || count.delivered === 0
            ? null
            : round((result.cpuMsPerOp * result.requests) / count.delivered, 4),
        subscriptionsEnded: outcome.ended.length,
        ...(outcome.ended.length ? { subscriptionEnds: outcome.ended.slice(0, 10) } : {}),
        subscriberSetup: {
          workers: established.workers,
          transports: established.transports,
          subscribeMs: established.subscribeMs,
          probeRounds: established.probeRounds,
        },
      });
      if (system.databaseUrl && !measure.prime) {
        const ids = outcome.sent.map((message) => message.id);
        result.acknowledged = ids.length;
        result.persisted = await countPersisted(system, 'messages', ids);
      }
      setup.extend?.(result, outcome);
      return result;
    },
    async close() {
      const started = await clients?.catch(() => undefined);
      await started?.clients.close();
    },
  };
}
