import { type OperationResult, quantile, round } from '../results.ts';
import { clientScenario } from './client-scenario.ts';
import { MIXED_CYCLE, OPERATION_NAMES, type OperationName } from './operations.ts';
import type { PreparedScenario, Scenario } from './types.ts';

/**
 * A user model after Mattermost's load-test agent: every user connects (one `messageAdded`
 * subscription, graphql-sse or graphql-ws), then steps through `MIXED_CYCLE` (chat list,
 * newest page, older pages, typing, send, mark read, token refresh) at `--rate` steps per
 * second over all users. Per-operation results, and every delivery counted as in fanout.
 */
export const mixed: Scenario = {
  name: 'mixed',
  summary: 'a user model: connect, list chats, page history, type, send, mark read, refresh (per operation)',
  defaults: { history: 50 },
  async prepare(context): Promise<PreparedScenario> {
    return clientScenario(context, {
      plan: 'mixed',
      subscribes: () => true,
      extend: (result, outcome) => {
        const operations: Record<string, OperationResult> = {};
        for (const name of OPERATION_NAMES.filter((op) => MIXED_CYCLE.includes(op))) {
          const latencies: number[] = [];
          let errors = 0;
          outcome.operations.forEach((operation: OperationName, i) => {
            if (operation !== name) return;
            const request = outcome.run.requests[i];
            if (!request) return;
            latencies.push(request.latencyMs);
            if (request.error !== undefined) errors++;
          });
          const sorted = Float64Array.from(latencies).sort();
          operations[name] = {
            count: sorted.length,
            errors,
            p50: round(quantile(sorted, 0.5), 2),
            p95: round(quantile(sorted, 0.95), 2),
            p99: round(quantile(sorted, 0.99), 2),
            max: round(quantile(sorted, 1), 2),
          };
        }
        result.operations = operations;
      },
    });
  },
};
