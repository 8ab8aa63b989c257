import { clientScenario } from './client-scenario.ts';
import type { PreparedScenario, Scenario } from './types.ts';

/**
 * `--subscribers` live `messageAdded` subscriptions, one per user, half graphql-sse and half
 * graphql-ws, spread over the instances, source addresses and worker processes; members send
 * into their chat at `--rate`. Every acknowledged message is expected once at every subscriber
 * of its chat but its sender: rate × (members − 1) deliveries per second.
 */
export const fanout: Scenario = {
  name: 'fanout',
  summary:
    '--subscribers live messageAdded subscriptions (SSE and graphql-ws), members sending: every delivery counted',
  usesSubscribers: true,
  // One user per subscriber, each in one chat of --members: every member of every chat listens.
  sizes(requested, options) {
    const users = options.subscribers ?? requested.users;
    return { ...requested, users, chats: Math.ceil(users / requested.members) };
  },
  async prepare(context): Promise<PreparedScenario> {
    return clientScenario(context, { plan: 'fanout', subscribes: () => true });
  },
};
