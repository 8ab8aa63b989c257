import { createSchema } from 'graphql-yoga';

/** The skeleton schema: only `health`. Chats, messages and subscriptions land with issue #12. */
export const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Query {
      "Answers 'ok' while the server accepts requests."
      health: String!
    }
  `,
  resolvers: {
    Query: {
      health: () => 'ok',
    },
  },
});
