import { BASELINE_TABLE } from '../baseline-schema.ts';
import { countPersisted } from './common.ts';
import { sendTemplates } from './send.ts';
import type { PreparedScenario, Scenario } from './types.ts';

/**
 * The same sendMessage requests, same client and rate, against the bare graphql-yoga + pg server
 * (one INSERT) on the same PostgreSQL: what the database and GraphQL alone cost.
 */
export const baseline: Scenario = {
  name: 'baseline',
  summary: 'the same sendMessage on a bare graphql-yoga + pg server that only INSERTs (same PostgreSQL)',
  async prepare(context): Promise<PreparedScenario> {
    const { system, world } = context;
    const server = await system.baseline();
    const templates = sendTemplates(context, 1);
    return {
      workload: () => ({
        urls: [server.url],
        tokens: world.users.map((user) => user.token),
        templates,
        // PostgreSQL (the replicas replay its writes too), not Redis, which it does not use.
        processes: () => {
          const { postgres, replicas } = system.dataProcesses();
          return { server: [server.pid], postgres, ...(replicas ? { replicas } : {}) };
        },
      }),
      persisted: (ids) => countPersisted(system, BASELINE_TABLE, ids),
    };
  },
};
