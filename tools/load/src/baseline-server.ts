// The bare baseline the full stack is compared with: graphql-yoga and pg, one `sendMessage` that
// does one INSERT into a messages-like table, and nothing else (no auth, limits, validation,
// transaction or outbox). The harness runs it as its own process, on the same PostgreSQL as the
// server under test, and drives it with the same client, requests and rate.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSchema, createYoga } from 'graphql-yoga';
import pg from 'pg';
import { BASELINE_SCHEMA, BASELINE_TABLE } from './baseline-schema.ts';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  process.stderr.write('baseline server: DATABASE_URL is required\n');
  process.exit(1);
}
// As many connections as the chat server's pool (examples/chat-server/src/db/database.ts).
const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(process.env.BASELINE_POOL_SIZE ?? 10) });
pool.on('error', () => {});
await pool.query(BASELINE_SCHEMA);

const yoga = createYoga({
  graphqlEndpoint: '/graphql',
  logging: false,
  landingPage: false,
  schema: createSchema({
    typeDefs: /* GraphQL */ `
      type Query {
        health: String!
      }
      input SendMessageInput {
        chatId: ID!
        content: String!
      }
      type Message {
        id: ID!
        seq: Int!
        createdAt: String!
      }
      type Mutation {
        sendMessage(input: SendMessageInput!): Message!
      }
    `,
    resolvers: {
      Query: { health: () => 'ok' },
      Mutation: {
        sendMessage: async (_root: unknown, args: { input: { chatId: string; content: string } }) => {
          const { rows } = await pool.query<{ id: string; seq: string; created_at: Date }>(
            `INSERT INTO ${BASELINE_TABLE} (id, chat_id, content) VALUES ($1, $2, $3) RETURNING id, seq, created_at`,
            [randomUUID(), args.input.chatId, args.input.content],
          );
          const row = rows[0] as { id: string; seq: string; created_at: Date };
          return { id: row.id, seq: Number(row.seq), createdAt: row.created_at.toISOString() };
        },
      },
    },
  }),
});

const server = createServer(yoga);
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`Baseline server: http://127.0.0.1:${port}/graphql\n`);
});

const stop = () => {
  server.close(() => void pool.end().then(() => process.exit(0)));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
