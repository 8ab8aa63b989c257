import { randomBytes, randomUUID } from 'node:crypto';
import { createAuth, type PrivateSigningJwk } from '@switchboard/auth';
import { createPostgresSessionStore } from '@switchboard/auth/postgres';
import pg from 'pg';
import { GraphQLClient } from './graphql-client.ts';

export interface SeedSizes {
  /** Users. */
  users: number;
  /** Group chats. */
  chats: number;
  /** Participants per chat (the first one owns it). */
  members: number;
  /** Messages already in each chat before the load starts. */
  history: number;
}

export interface SeededUser {
  id: string;
  username: string;
  /** A valid access token (re-minted by `refreshTokens` before it expires). */
  token: string;
  /** The refresh token of the same session (for `refreshToken`; spent once used). */
  refreshToken?: string;
}

export interface SeededChat {
  id: string;
  /** Indexes into `World.users`; the first is the owner. */
  members: number[];
}

/** The users and chats a scenario runs on. */
export interface World {
  users: SeededUser[];
  chats: SeededChat[];
  /** Every user's password (one argon2 hash for all). */
  password: string;
  /** Distinguishes this seeding's names from any other in the same database. */
  runId: string;
  /** Mints fresh access tokens when the current ones are older than `maxAgeMs` (tokens live 15 min). */
  refreshTokens(maxAgeMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** What the chat server passes to createAuth (examples/chat-server/src/app.ts). */
const ISSUER = 'switchboard-chat';
const AUDIENCE = 'switchboard-chat';
const TOKEN_MAX_AGE_MS = 10 * 60_000;

/**
 * Member `k` of chat `c` is user `(c * members + k) mod users`: every user in about the same
 * number of chats, no user twice in one chat (members <= users).
 */
export function membersOf(chat: number, sizes: Pick<SeedSizes, 'users' | 'members'>): number[] {
  return Array.from({ length: sizes.members }, (_, k) => (chat * sizes.members + k) % sizes.users);
}

function checkSizes(sizes: SeedSizes): void {
  for (const [name, value] of Object.entries(sizes)) {
    if (!Number.isInteger(value) || value < 0) throw new TypeError(`--${name} must be a whole number >= 0`);
  }
  if (sizes.users < 1 || sizes.chats < 1 || sizes.members < 1) {
    throw new TypeError('--users, --chats and --members must be at least 1');
  }
  if (sizes.members > sizes.users)
    throw new TypeError(`--members (${sizes.members}) cannot exceed --users (${sizes.users})`);
}

async function inBatches<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index] as T, index);
      }
    }),
  );
}

/** A world whose tokens were just minted: `mint` makes new ones when they grow old. */
function worldOf(
  seeded: Pick<World, 'users' | 'chats' | 'password' | 'runId'>,
  mint: () => Promise<void>,
  close: () => Promise<void>,
): World {
  let mintedAt = Date.now();
  return {
    ...seeded,
    refreshTokens: async (maxAgeMs = TOKEN_MAX_AGE_MS) => {
      if (Date.now() - mintedAt <= maxAgeMs) return;
      mintedAt = Date.now();
      await mint();
    },
    close,
  };
}

/**
 * Seeds straight into the server's database, in one transaction of bulk INSERTs, what the API
 * would have made: users (one argon2 hash for all), chats with their participants and the rbac
 * grants createChat writes (owner + members in scope `chat:<id>`), optional history; then mints
 * an access token per user through @switchboard/auth with the server's own keys (a session row
 * each, as a login makes).
 */
export async function seedDatabase(options: {
  databaseUrl: string;
  signingKeys: PrivateSigningJwk[];
  sizes: SeedSizes;
}): Promise<World> {
  const { sizes } = options;
  checkSizes(sizes);
  const runId = randomBytes(4).toString('hex');
  const password = `load ${randomBytes(12).toString('base64url')} harness`;
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 8 });
  pool.on('error', () => {});
  try {
    const auth = await createAuth({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: options.signingKeys,
      stores: { sessions: createPostgresSessionStore({ pool }) },
    });
    const hash = await auth.hashPassword(password);
    const users: SeededUser[] = Array.from({ length: sizes.users }, (_, i) => ({
      id: randomUUID(),
      username: `load${runId}u${i}`,
      token: '',
    }));
    const chats = Array.from({ length: sizes.chats }, (_, c) => ({ id: randomUUID(), members: membersOf(c, sizes) }));
    const memberships = chats.flatMap((chat) =>
      chat.members.map((member, k) => ({
        chat: chat.id,
        user: users[member]?.id as string,
        role: k === 0 ? 'owner' : 'member',
      })),
    );

    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO users (id, username, email, password_hash)
         SELECT id, username, username || '@load.example', $3 FROM unnest($1::uuid[], $2::text[]) AS u (id, username)`,
        [users.map((user) => user.id), users.map((user) => user.username), hash],
      );
      await client.query(
        `INSERT INTO chats (id, kind, title, owner_id, last_seq)
         SELECT id, 'group', 'Load chat ' || n, owner, $3 FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS c (id, owner, n)`,
        [chats.map((chat) => chat.id), chats.map((chat) => users[chat.members[0] as number]?.id), sizes.history],
      );
      await client.query(
        `INSERT INTO participants (chat_id, user_id, role, last_read_seq)
         SELECT chat_id, user_id, role, $4 FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS p (chat_id, user_id, role)`,
        [memberships.map((m) => m.chat), memberships.map((m) => m.user), memberships.map((m) => m.role), sizes.history],
      );
      // What createChat's grant store writes (@switchboard/rbac/postgres), one row per participant.
      await client.query(
        `INSERT INTO switchboard_rbac_grants (user_id, scope, role)
         SELECT user_id, 'chat:' || chat_id, role FROM unnest($1::text[], $2::text[], $3::text[]) AS g (chat_id, user_id, role)`,
        [memberships.map((m) => m.chat), memberships.map((m) => m.user), memberships.map((m) => m.role)],
      );
      if (sizes.history > 0) {
        // Senders take turns among the members; one second apart, ending now.
        await client.query(
          `INSERT INTO messages (id, chat_id, seq, sender_id, content, created_at)
           SELECT gen_random_uuid(), p.chat_id, s, p.members[1 + s % array_length(p.members, 1)],
                  'history message ' || s, now() - make_interval(secs => $1 - s)
             FROM (SELECT chat_id, array_agg(user_id ORDER BY user_id) AS members
                     FROM participants WHERE chat_id = ANY($2::uuid[]) GROUP BY chat_id) AS p,
                  generate_series(1, $1::int) AS s`,
          [sizes.history, chats.map((chat) => chat.id)],
        );
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
    // Statistics for the planner: the tables just grew from nothing.
    await pool.query('ANALYZE users, chats, participants, messages, switchboard_rbac_grants');

    const mint = () =>
      inBatches(users, 8, async (user) => {
        const tokens = await auth.issueTokens({ id: user.id });
        user.token = tokens.accessToken;
        user.refreshToken = tokens.refreshToken;
      });
    await mint();
    return worldOf({ users, chats, password, runId }, mint, () => pool.end());
  } catch (error) {
    await pool.end();
    throw error;
  }
}

/**
 * `--target`: a server the harness did not start, so no database access; everything goes
 * through the API as a client would (register, createChat with the members, sendMessage for
 * history). The server's own limits apply: registration is spread over `addresses`.
 */
export async function seedThroughApi(options: { url: string; sizes: SeedSizes; addresses: string[] }): Promise<World> {
  const { sizes, url, addresses } = options;
  checkSizes(sizes);
  const runId = randomBytes(4).toString('hex');
  const password = `load ${randomBytes(12).toString('base64url')} harness`;
  const clients = addresses.map((localAddress) => new GraphQLClient(url, { localAddress, connections: 2 }));
  const clientFor = (user: number) => clients[user % clients.length] as GraphQLClient;
  try {
    const users: SeededUser[] = Array.from({ length: sizes.users }, (_, i) => ({
      id: '',
      username: `load${runId}u${i}`,
      token: '',
    }));
    const login = async (user: SeededUser, index: number, mutation: 'register' | 'login') => {
      const input =
        mutation === 'register'
          ? { username: user.username, email: `${user.username}@load.example`, password }
          : { username: user.username, password };
      type Payload = { accessToken: string; refreshToken: string; user: { id: string } };
      const data = await clientFor(index).data<Record<string, Payload>>(
        `mutation Seed($input: ${mutation === 'register' ? 'RegisterInput' : 'LoginInput'}!) {
          ${mutation}(input: $input) { accessToken refreshToken user { id } }
        }`,
        { input },
      );
      const payload = data[mutation] as Payload;
      user.id = payload.user.id;
      user.token = payload.accessToken;
      user.refreshToken = payload.refreshToken;
    };
    await inBatches(users, 8, (user, index) => login(user, index, 'register'));

    const chats: SeededChat[] = [];
    await inBatches(
      Array.from({ length: sizes.chats }, (_, c) => membersOf(c, sizes)),
      8,
      async (members, c) => {
        const [owner, ...others] = members as [number, ...number[]];
        const token = users[owner]?.token;
        const ids = others.map((member) => users[member]?.id);
        const data = await clientFor(owner).data<{ createChat: { id: string } }>(
          'mutation Seed($input: CreateChatInput!) { createChat(input: $input) { id } }',
          { input: { title: `Load chat ${c + 1}`, participantIds: ids.slice(0, 99) } },
          token,
        );
        for (const userId of ids.slice(99)) {
          await clientFor(owner).data(
            'mutation Seed($chatId: ID!, $userId: ID!) { addParticipant(chatId: $chatId, userId: $userId) { role } }',
            { chatId: data.createChat.id, userId },
            token,
          );
        }
        chats[c] = { id: data.createChat.id, members };
      },
    );
    await inBatches(chats, 8, async (chat) => {
      for (let s = 1; s <= sizes.history; s++) {
        const sender = chat.members[s % chat.members.length] as number;
        await clientFor(sender).data(
          'mutation Seed($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
          { input: { chatId: chat.id, content: `history message ${s}` } },
          users[sender]?.token,
        );
      }
    });

    return worldOf(
      { users, chats, password, runId },
      () => inBatches(users, 8, (user, index) => login(user, index, 'login')),
      async () => {
        await Promise.all(clients.map((client) => client.close()));
      },
    );
  } catch (error) {
    await Promise.all(clients.map((client) => client.close()));
    throw error;
  }
}
