import { randomBytes } from 'node:crypto';
import { createTestDatabase } from '@switchboard/infra';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import WebSocket from 'ws';
import { codeOf, type GraphQLResponse, gql, gqlFrom, TEST_PASSWORD } from './client.ts';
import { type Instances, startInstances } from './instances.ts';
import { capturingLogger, LEVEL, severity } from './log-lines.ts';

/**
 * The server side of the auth hardening: device tokens against lock-out, revocation that takes
 * effect on every instance (streams included), the error tables, the auth clean-up and one
 * budget for every operation. Each attack first, then the proof it fails.
 */
let database: { primary: string; replicas: string[] };
const groups: Instances[] = [];

beforeAll(async () => {
  database = await createTestDatabase(inject('infra'), 'chat_auth_hardening');
});

afterAll(async () => {
  for (const group of groups) await group.close();
});

const start = async (options: Omit<Parameters<typeof startInstances>[0], 'primary'>) => {
  const group = await startInstances({ primary: database.primary, ...options });
  groups.push(group);
  return group;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let names = 0;

interface Account {
  id: string;
  username: string;
  accessToken: string;
  refreshToken: string;
  deviceToken: string;
}

const AUTH_FIELDS = 'accessToken refreshToken deviceToken user { id username }';
const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { ${AUTH_FIELDS} } }`;
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`;
type AuthAnswer = {
  accessToken: string;
  refreshToken: string;
  deviceToken: string | null;
  user: { id: string; username: string };
};

async function register(url: string, label = 'hard'): Promise<Account> {
  const username = `${label}${Date.now().toString(36)}${names++}`;
  const response = await gql<{ register: AuthAnswer }>(url, REGISTER, {
    input: { username, email: `${username}@example.com`, password: TEST_PASSWORD },
  });
  const answer = response.data?.register;
  if (!answer?.deviceToken) throw new Error(`register failed: ${JSON.stringify(response.errors)}`);
  return { id: answer.user.id, username, ...answer, deviceToken: answer.deviceToken };
}

const login = (url: string, from: string, input: { username: string; password: string; deviceToken?: string }) =>
  gqlFrom<{ login: AuthAnswer }>(from, url, LOGIN, { input });

/** `promise`, or a rejection once `ms` passed (the timer does not outlive it). */
async function before<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every 20 ms until it holds or `withinMs` passed; resolves with the time it took. */
async function within(withinMs: number, check: () => Promise<boolean> | boolean): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > withinMs) throw new Error(`not within ${withinMs} ms`);
    await sleep(20);
  }
  return performance.now() - started;
}

describe('device tokens: strangers cannot lock the owner out', () => {
  let url: string;

  beforeAll(async () => {
    // The server's defaults for logins: 10 per address and username, 100 per username, 15 min.
    url = (
      await start({
        limits: { authPerIpPerMinute: 30, loginAttemptsPerIpPerUsername: 10, loginAttemptsPerUsername: 100 },
      })
    ).urls[0] as string;
  });

  test('register and login answer a device token; refresh answers none', async () => {
    const owner = await register(url);
    expect(owner.deviceToken).toMatch(/^dt_/);
    const again = await login(url, '127.0.5.1', { username: owner.username, password: TEST_PASSWORD });
    expect(again.data?.login.deviceToken).toMatch(/^dt_/);
    expect(again.data?.login.deviceToken).not.toBe(owner.deviceToken);
    const refreshed = await gql<{ refreshToken: { deviceToken: string | null } }>(
      url,
      'mutation($t: String!) { refreshToken(refreshToken: $t) { deviceToken } }',
      { t: owner.refreshToken },
    );
    expect(refreshed.errors).toBeUndefined();
    expect(refreshed.data?.refreshToken.deviceToken).toBeNull();
  });

  test('10 addresses × 10 wrong guesses lock the username; the owner with their device token logs in at once', async () => {
    const owner = await register(url);
    const stranger = await register(url);

    // The attack: ten client addresses, ten wrong guesses each, all answered as wrong passwords.
    const addresses = Array.from({ length: 10 }, (_, i) => `127.0.2.${i + 1}`);
    const answers = await Promise.all(
      addresses.map(async (address) => {
        const codes: unknown[] = [];
        for (let guess = 0; guess < 10; guess++) {
          codes.push(
            codeOf(await login(url, address, { username: owner.username, password: `guess number ${guess} wrong` })),
          );
        }
        return codes;
      }),
    );
    expect(answers.flat()).toEqual(Array(100).fill('UNAUTHENTICATED'));

    // Without a device token, the owner is locked out with the right password, from anywhere.
    const lockedOut = await login(url, '127.0.3.1', { username: owner.username, password: TEST_PASSWORD });
    expect(codeOf(lockedOut)).toBe('RATE_LIMITED');
    expect(lockedOut.status).toBe(429);
    // A forged token (well-formed, never issued), and a genuine token of another user, change nothing.
    const forged = `dt_${randomBytes(32).toString('base64url')}`;
    for (const deviceToken of [forged, stranger.deviceToken, 'not-a-token']) {
      const refused = await login(url, '127.0.3.1', { username: owner.username, password: TEST_PASSWORD, deviceToken });
      expect(codeOf(refused), deviceToken).toBe('RATE_LIMITED');
    }

    // The owner's own device token: in at once, from a new address or one of the attacker's.
    for (const address of ['127.0.3.2', '127.0.2.1']) {
      const owned = await login(url, address, {
        username: owner.username.toUpperCase(),
        password: TEST_PASSWORD,
        deviceToken: owner.deviceToken,
      });
      expect(owned.errors, address).toBeUndefined();
      expect(owned.data?.login.user.id).toBe(owner.id);
      expect(owned.data?.login.deviceToken).toMatch(/^dt_/);
    }
  }, 120_000);

  test('five wrong passwords with a device token revoke it; then it no longer gets past the lock', async () => {
    const owner = await register(url);
    // Lock the username first (100 attempts from ten addresses).
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        for (let guess = 0; guess < 10; guess++) {
          await login(url, `127.0.4.${i + 1}`, { username: owner.username, password: `wrong ${guess}` });
        }
      }),
    );
    expect(codeOf(await login(url, '127.0.6.1', { username: owner.username, password: TEST_PASSWORD }))).toBe(
      'RATE_LIMITED',
    );
    // A thief with the owner's device token guesses: each guess is a wrong password (the device's
    // own budget is 10 per window), and the fifth kills the token.
    for (let guess = 0; guess < 5; guess++) {
      const wrong = await login(url, '127.0.6.2', {
        username: owner.username,
        password: `thief guess ${guess}`,
        deviceToken: owner.deviceToken,
      });
      expect(codeOf(wrong), `guess ${guess}`).toBe('UNAUTHENTICATED');
    }
    // Even with the right password, the dead token is now a login like any other: locked out.
    const dead = await login(url, '127.0.6.3', {
      username: owner.username,
      password: TEST_PASSWORD,
      deviceToken: owner.deviceToken,
    });
    expect(codeOf(dead)).toBe('RATE_LIMITED');
  }, 120_000);

  test('a device token has a budget of its own: 10 logins per window, whatever the addresses', async () => {
    const owner = await register(url);
    // One address per login: neither the per-address limit nor the per-username ceiling is near.
    for (let i = 0; i < 10; i++) {
      const allowed = await login(url, `127.0.9.${i + 1}`, {
        username: owner.username,
        password: TEST_PASSWORD,
        deviceToken: owner.deviceToken,
      });
      expect(allowed.errors, `login ${i}`).toBeUndefined();
    }
    const eleventh = await login(url, '127.0.9.11', {
      username: owner.username,
      password: TEST_PASSWORD,
      deviceToken: owner.deviceToken,
    });
    expect(codeOf(eleventh)).toBe('RATE_LIMITED');
    // Without that token, the owner is not limited by it.
    expect(
      (await login(url, '127.0.9.11', { username: owner.username, password: TEST_PASSWORD })).errors,
    ).toBeUndefined();
  }, 60_000);

  test('a login spelled differently (full-width letters) counts against the same username', async () => {
    const owner = await register(url);
    for (let guess = 0; guess < 10; guess++) {
      expect(codeOf(await login(url, '127.0.7.1', { username: owner.username, password: `wrong ${guess}` }))).toBe(
        'UNAUTHENTICATED',
      );
    }
    // NFKC makes `ｄｅｖ` `dev`: the same account, so the same per-address-and-username budget.
    const fullWidth = [...owner.username].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join('');
    expect(codeOf(await login(url, '127.0.7.1', { username: fullWidth, password: 'wrong again' }))).toBe(
      'RATE_LIMITED',
    );
  });
});

describe('error tables: a login flood gets BUSY, never a hang', () => {
  test('30 logins at once against 1 + 1 argon2 slots: some 503 BUSY with Retry-After, every one answered', async () => {
    const url = (await start({ auth: { passwordConcurrency: 1, passwordQueueSize: 1 } })).urls[0] as string;
    const owner = await register(url);
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        login(url, '127.0.8.1', { username: owner.username, password: i === 0 ? TEST_PASSWORD : `wrong ${i}` }),
      ),
    );
    expect(performance.now() - started).toBeLessThan(20_000);
    const busy = answers.filter((answer) => codeOf(answer) === 'BUSY');
    expect(busy.length).toBeGreaterThan(0);
    for (const answer of busy) {
      expect(answer.status).toBe(503);
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(answer.errors?.[0]?.extensions?.retryAfterMs).toBeGreaterThan(0);
    }
    // The rest were checked: wrong passwords, or the right one.
    for (const answer of answers.filter((each) => codeOf(each) !== 'BUSY')) {
      expect([undefined, 'UNAUTHENTICATED']).toContain(codeOf(answer));
    }
  }, 60_000);
});

describe('auth clean-up', () => {
  test('runs on its schedule on one instance at a time, survives a failed run, deletes an expired refresh token and logs the counts', async () => {
    const { log, lines } = capturingLogger();
    const group = await start({ auth: { cleanupIntervalMs: 300 }, log });
    const owner = await register(group.urls[0] as string);
    // Another instance's run under way: its advisory lock, held here.
    const other = await group.pool.connect();
    let renamed = false;
    try {
      await other.query('SELECT pg_advisory_lock(7160019301)');
      const { rows } = await group.pool.query<{ token_hash: string }>(
        `UPDATE switchboard_auth_refresh_tokens t SET expires_at = now() - interval '1 day'
           FROM switchboard_auth_sessions s
          WHERE s.id = t.session_id AND s.user_id = $1
         RETURNING t.token_hash`,
        [owner.id],
      );
      expect(rows).toHaveLength(1);
      const tokenLeft = async () =>
        (
          await group.pool.query('SELECT 1 FROM switchboard_auth_refresh_tokens WHERE token_hash = $1', [
            rows[0]?.token_hash,
          ])
        ).rowCount === 1;
      await sleep(1_200);
      expect(await tokenLeft()).toBe(true);

      // A run that fails (here: the table it deletes from is missing) is logged; the schedule goes on.
      await group.pool.query(
        'ALTER TABLE switchboard_auth_refresh_tokens RENAME TO switchboard_auth_refresh_tokens_away',
      );
      renamed = true;
      await other.query('SELECT pg_advisory_unlock(7160019301)');
      await within(10_000, () =>
        lines.some((line) => severity(line) === LEVEL.warn && line.message.startsWith('auth cleanup')),
      );
      await group.pool.query(
        'ALTER TABLE switchboard_auth_refresh_tokens_away RENAME TO switchboard_auth_refresh_tokens',
      );
      renamed = false;
      expect(await tokenLeft()).toBe(true);

      await within(10_000, async () => !(await tokenLeft()));
      // The run logs its counts after its DELETE commits: the line may follow the token's end.
      await within(5_000, () =>
        lines.some(
          (line) =>
            severity(line) === LEVEL.info && line.message.startsWith('auth cleanup') && Number(line.tokens) >= 1,
        ),
      );
    } finally {
      if (renamed) {
        await group.pool.query(
          'ALTER TABLE switchboard_auth_refresh_tokens_away RENAME TO switchboard_auth_refresh_tokens',
        );
      }
      other.release(true);
    }
  }, 60_000);
});

describe('every operation has a budget (OPERATIONS_PER_MINUTE)', () => {
  const BUDGET = 200;
  let url: string;

  beforeAll(async () => {
    url = (await start({ limits: { operationsPerMinute: BUDGET } })).urls[0] as string;
  });

  test('a query flood by one user is refused with RATE_LIMITED, retryAfterMs and 429; another user is unaffected', async () => {
    const [flooder, bystander] = [await register(url), await register(url)];
    const answers: GraphQLResponse[] = [];
    for (let batch = 0; batch < 25; batch++) {
      answers.push(
        ...(await Promise.all(Array.from({ length: 10 }, () => gql(url, '{ health }', {}, flooder.accessToken)))),
      );
    }
    const refused = answers.filter((answer) => codeOf(answer) === 'RATE_LIMITED');
    // 250 queries of 1 point against a bucket of 200 (refilled at 200 a minute).
    expect(refused.length).toBeGreaterThan(25);
    expect(answers.length - refused.length).toBeLessThan(240);
    for (const answer of refused) {
      expect(answer.status).toBe(429);
      expect(answer.errors?.[0]?.extensions?.retryAfterMs).toBeGreaterThan(0);
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    const other = await gql<{ me: { id: string } }>(url, '{ me { id } }', {}, bystander.accessToken);
    expect(other.errors).toBeUndefined();
    expect(other.data?.me.id).toBe(bystander.id);
  });

  test('a subscription is charged once, when it starts: its events cost nothing', async () => {
    const [sender, listener] = [await register(url), await register(url)];
    const created = await gql<{ createChat: { id: string } }>(
      url,
      'mutation($input: CreateChatInput!) { createChat(input: $input) { id } }',
      { input: { title: 'Budget', participantIds: [listener.id] } },
      sender.accessToken,
    );
    const chatId = created.data?.createChat.id as string;
    const client = createSseClient({
      url,
      headers: { authorization: `Bearer ${listener.accessToken}` },
      retryAttempts: 0,
    });
    const stream = client.iterate<{ messageAdded: { seq: number } }>({
      query: 'subscription($chatId: ID!) { messageAdded(chatId: $chatId) { seq } }', // 2 points
      variables: { chatId },
    });
    const received: number[] = [];
    const reading = (async () => {
      for await (const event of stream) {
        received.push(event.data?.messageAdded.seq as number);
        if (received.length === 60) break;
      }
    })();
    await sleep(300);
    // Quickly (a few batches), so that the bucket's refill meanwhile stays small.
    for (let batch = 0; batch < 3; batch++) {
      const sent = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          gql(
            url,
            'mutation($input: SendMessageInput!) { sendMessage(input: $input) { seq } }',
            { input: { chatId, content: `m${batch}.${i}` } },
            sender.accessToken,
          ),
        ),
      );
      expect(sent.filter((answer) => answer.errors !== undefined)).toEqual([]);
    }
    await before(10_000, reading, 'the 60 events');
    client.dispose();
    expect(received).toHaveLength(60);
    // Had each of the 60 events cost even 1 point, at most 200 - 2 - 60 (plus the refill) would pass.
    let passed = 0;
    for (let batch = 0; batch < 25; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => gql(url, '{ health }', {}, listener.accessToken)),
      );
      passed += answers.filter((answer) => answer.errors === undefined).length;
      if (answers.some((answer) => codeOf(answer) === 'RATE_LIMITED')) break;
    }
    expect(passed).toBeGreaterThanOrEqual(190);
  });
});

describe('revocation on every instance (two instances over Redis)', () => {
  let a: string;
  let b: string;
  let group: Instances;

  beforeAll(async () => {
    const infra = inject('infra');
    if (!infra.redis) throw new Error('the shared topology has no Redis');
    group = await start({ replicas: database.replicas, redis: infra.redis, count: 2 });
    [a, b] = group.urls as [string, string];
  });

  const ME = '{ me { id } }';
  const reasonOf = (response: GraphQLResponse) => response.errors?.[0]?.extensions?.reason;
  const revokedOn = (url: string, token: string) => async () => {
    const answer = await gql(url, ME, {}, token);
    return codeOf(answer) === 'UNAUTHENTICATED' && reasonOf(answer) === 'SESSION_REVOKED';
  };
  const loginAgain = async (url: string, account: Account) => {
    const answer = await login(url, '127.0.0.1', { username: account.username, password: TEST_PASSWORD });
    const session = answer.data?.login;
    if (!session) throw new Error(`login failed: ${JSON.stringify(answer.errors)}`);
    return session;
  };

  test('logout on A: the access token is refused on B within 1 s (SESSION_REVOKED), and its open streams on B end at once', async () => {
    const [owner, other] = [await register(a), await register(a)];
    const created = await gql<{ createChat: { id: string } }>(
      a,
      'mutation($input: CreateChatInput!) { createChat(input: $input) { id } }',
      { input: { title: 'Revoked streams', participantIds: [other.id] } },
      owner.accessToken,
    );
    const chatId = created.data?.createChat.id as string;
    // B has seen (and cached) the token.
    expect((await gql(b, ME, {}, owner.accessToken)).errors).toBeUndefined();

    // On B: SSE (messageAdded, typing) and graphql-ws (messageUpdated, userEvents) of that session,
    // and one stream of another session of the same user, which must stay.
    const sse = createSseClient({
      url: b,
      headers: { authorization: `Bearer ${owner.accessToken}` },
      retryAttempts: 0,
    });
    const sseStreams = [
      'subscription($chatId: ID!) { messageAdded(chatId: $chatId) { seq } }',
      'subscription($chatId: ID!) { typing(chatId: $chatId) { chatId } }',
    ].map((query) => sse.iterate({ query, variables: { chatId } }));
    const sseEnds = sseStreams.map((stream) => stream.next());
    const ws = createWsClient({
      url: b.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${owner.accessToken}` },
      retryAttempts: 0,
    });
    const wsEvents: unknown[] = [];
    const wsEnded: number[] = [];
    for (const query of [
      'subscription($chatId: ID!) { messageUpdated(chatId: $chatId) { id } }',
      'subscription { userEvents { type } }',
    ]) {
      ws.subscribe(
        { query, variables: { chatId } },
        {
          next: (event) => wsEvents.push(event),
          error: (error) => wsEvents.push(error),
          complete: () => wsEnded.push(performance.now()),
        },
      );
    }
    const second = await loginAgain(a, owner);
    const survivor = createSseClient({
      url: b,
      headers: { authorization: `Bearer ${second.accessToken}` },
      retryAttempts: 0,
    });
    const surviving = survivor.iterate({ query: 'subscription { userEvents { type } }' });
    const survivorNext = surviving.next();
    await within(5_000, async () => {
      const metrics = await (await fetch(b.replace(/\/graphql$/, '/metrics'))).text();
      return Number(/^chat_subscriptions_active (\d+)/m.exec(metrics)?.[1]) >= 5;
    });

    const loggedOut = await gql(a, 'mutation($t: String!) { logout(refreshToken: $t) }', { t: owner.refreshToken });
    expect(loggedOut.errors).toBeUndefined();
    const at = performance.now();

    expect(await within(1_000, revokedOn(b, owner.accessToken))).toBeLessThan(1_000);
    const ends = await before(1_000, Promise.all(sseEnds), 'the SSE streams ending');
    expect(ends.every((end) => end.done)).toBe(true);
    expect(performance.now() - at).toBeLessThan(1_000);
    await within(1_000 - (performance.now() - at), () => wsEnded.length === 2);
    expect(wsEvents).toEqual([]);

    // The user's other session is untouched: its token works, its stream is still open.
    expect((await gql(b, ME, {}, second.accessToken)).errors).toBeUndefined();
    const stillOpen = await Promise.race([survivorNext.then(() => 'ended'), sleep(300).then(() => 'open')]);
    expect(stillOpen).toBe('open');
    await surviving.return?.();
    survivor.dispose();
    sse.dispose();
    await ws.dispose();
  });

  test('sessions lists your own, the current one marked; revokeSession of another user’s session is NOT_FOUND', async () => {
    const [owner, stranger] = [await register(a), await register(a)];
    const second = await loginAgain(b, owner);
    const SESSIONS = '{ sessions { id current createdAt lastUsedAt ip } }';
    const listed = await gql<{ sessions: { id: string; current: boolean; ip: string | null }[] }>(
      b,
      SESSIONS,
      {},
      owner.accessToken,
    );
    expect(listed.data?.sessions).toHaveLength(2);
    expect(listed.data?.sessions.filter((session) => session.current)).toHaveLength(1);
    const current = listed.data?.sessions.find((session) => session.current)?.id as string;
    const other = listed.data?.sessions.find((session) => !session.current)?.id as string;

    // The attack: the stranger names the owner's session.
    const REVOKE = 'mutation($id: ID!) { revokeSession(id: $id) }';
    const theirs = await gql(a, REVOKE, { id: other }, stranger.accessToken);
    expect(codeOf(theirs)).toBe('NOT_FOUND');
    expect(codeOf(await gql(a, REVOKE, { id: 'no-such-session' }, stranger.accessToken))).toBe('NOT_FOUND');
    expect((await gql(b, ME, {}, second.accessToken)).errors).toBeUndefined();

    // The owner signs the other session out from A: refused on B within 1 s, this one still works.
    expect((await gql(b, ME, {}, second.accessToken)).errors).toBeUndefined();
    const revoked = await gql<{ revokeSession: boolean }>(a, REVOKE, { id: other }, owner.accessToken);
    expect(revoked.data?.revokeSession).toBe(true);
    expect(await within(1_000, revokedOn(b, second.accessToken))).toBeLessThan(1_000);
    expect(await revokedOn(a, second.accessToken)()).toBe(true);
    const refresh = await gql(b, 'mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }', {
      t: second.refreshToken,
    });
    expect(codeOf(refresh)).toBe('UNAUTHENTICATED');
    const left = await gql<{ sessions: { id: string }[] }>(a, SESSIONS, {}, owner.accessToken);
    expect(left.data?.sessions.map((session) => session.id)).toEqual([current]);
    // Twice is NOT_FOUND: it is no longer a live session.
    expect(codeOf(await gql(a, REVOKE, { id: other }, owner.accessToken))).toBe('NOT_FOUND');
  });

  test('revokeAllSessions ends every session of the caller, on both instances', async () => {
    const owner = await register(a);
    const bystander = await register(a);
    const sessions = [owner, await loginAgain(b, owner), await loginAgain(a, owner)];
    const done = await gql<{ revokeAllSessions: boolean }>(b, 'mutation { revokeAllSessions }', {}, owner.accessToken);
    expect(done.data?.revokeAllSessions).toBe(true);
    for (const session of sessions) {
      await within(1_000, revokedOn(a, session.accessToken));
      await within(1_000, revokedOn(b, session.accessToken));
      const refresh = await gql(a, 'mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }', {
        t: session.refreshToken,
      });
      expect(codeOf(refresh)).toBe('UNAUTHENTICATED');
    }
    expect((await gql(a, ME, {}, bystander.accessToken)).errors).toBeUndefined();
    // Device tokens go too: a new login from this device meets the per-username limits again.
    const devices = await group.pool.query('SELECT 1 FROM switchboard_auth_device_tokens WHERE user_id = $1', [
      owner.id,
    ]);
    expect(devices.rowCount).toBe(0);
  });
});
