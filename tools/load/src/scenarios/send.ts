import type { RequestTemplate } from '../workload.ts';
import { countPersisted, serverWorkload } from './common.ts';
import type { PreparedScenario, Scenario, ScenarioContext } from './types.ts';

export const SEND_MESSAGE = /* GraphQL */ `mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) { id seq createdAt }
}`;

/**
 * sendMessage by a random participant into one of their chats, `%N%` making each content unique.
 * User `u` talks to instance `u mod instances` (its own connections, from its own address).
 */
export function sendTemplates(context: ScenarioContext, instances: number): RequestTemplate[] {
  return context.world.chats.flatMap((chat) =>
    chat.members.map((user) => ({
      user,
      url: user % instances,
      body: JSON.stringify({
        query: SEND_MESSAGE,
        variables: { input: { chatId: chat.id, content: 'load message %N%' } },
      }),
      ack: 'sendMessage.id',
    })),
  );
}

export const send: Scenario = {
  name: 'send',
  summary: 'sendMessage through the whole stack (auth, rbac, limits, validation, transaction + outbox)',
  async prepare(context): Promise<PreparedScenario> {
    const { system } = context;
    const templates = sendTemplates(context, system.instances.length);
    return {
      workload: () => serverWorkload(context, templates),
      ...(system.databaseUrl ? { persisted: (ids) => countPersisted(system, 'messages', ids) } : {}),
    };
  },
};
