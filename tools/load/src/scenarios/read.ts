import { GraphQLClient } from '../graphql-client.ts';
import type { RequestTemplate } from '../workload.ts';
import { serverWorkload } from './common.ts';
import type { PreparedScenario, Scenario } from './types.ts';

const PAGE = 20;

const MESSAGES = /* GraphQL */ `query Messages($chatId: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  messages(chatId: $chatId, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id seq content createdAt sender { id username } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

const CHATS = /* GraphQL */ `query Chats($first: Int) {
  chats(first: $first) {
    edges { cursor node { id kind title createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}`;

/**
 * Paging history both ways and listing chats, in equal shares: `messages` first page
 * (`first`), the page after it (`first/after`), the newest page (`last`), the page before it
 * (`last/before`), and `chats`. In cluster mode these reads go through db-router to the
 * replicas (the users have no recent write to wait for).
 */
export const read: Scenario = {
  name: 'read',
  summary: 'messages pages both directions (first/after, last/before) and chats',
  defaults: { history: 200 },
  async prepare(context): Promise<PreparedScenario> {
    const { system, world } = context;
    const urls = system.instances.map((instance) => instance.url);
    const client = new GraphQLClient(urls[0] as string, { localAddress: context.addresses[0] as string });
    type Page = { messages: { pageInfo: { startCursor: string | null; endCursor: string | null } } };
    const cursors: { after: string | null; before: string | null }[] = [];
    try {
      for (const [c, chat] of world.chats.entries()) {
        const token = world.users[chat.members[0] as number]?.token;
        const oldest = await client.data<Page>(MESSAGES, { chatId: chat.id, first: PAGE }, token);
        const newest = await client.data<Page>(MESSAGES, { chatId: chat.id, last: PAGE }, token);
        cursors[c] = { after: oldest.messages.pageInfo.endCursor, before: newest.messages.pageInfo.startCursor };
      }
    } finally {
      await client.close();
    }
    const templates: RequestTemplate[] = world.chats.flatMap((chat, c) =>
      chat.members.flatMap((user) => {
        const { after, before } = cursors[c] as { after: string | null; before: string | null };
        const url = user % urls.length;
        const page = (variables: Record<string, unknown>) => ({
          user,
          url,
          body: JSON.stringify({ query: MESSAGES, variables: { chatId: chat.id, ...variables } }),
        });
        return [
          page({ first: PAGE }),
          page(after ? { first: PAGE, after } : { first: PAGE }),
          page({ last: PAGE }),
          page(before ? { last: PAGE, before } : { last: PAGE }),
          { user, url, body: JSON.stringify({ query: CHATS, variables: { first: PAGE } }) },
        ];
      }),
    );
    return { workload: () => serverWorkload(context, templates) };
  },
};
