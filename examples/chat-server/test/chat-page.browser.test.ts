import { createTestDatabase } from '@switchboard/infra';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import {
  api,
  assertPageBuilt,
  launchChromium,
  PASSWORD,
  registerIn as registerWith,
  signIn,
} from './chat-page-views.ts';
import { type Instances, startInstances } from './instances.ts';
import { startTcpProxy } from './tcp-proxy.ts';

let instances: Instances;
let browser: Browser;
let origins: string[];

beforeAll(async () => {
  assertPageBuilt();
  browser = await launchChromium();
  const database = await createTestDatabase(inject('infra'), 'chat_page');
  // Two instances as in cluster mode: replicas for reads, Redis for the buses between them.
  const infra = inject('infra');
  instances = await startInstances({
    primary: database.primary,
    replicas: database.replicas,
    ...(infra.redis ? { redis: infra.redis } : {}),
    count: 2,
  });
  origins = instances.urls.map((url) => new URL(url).origin);
});

afterAll(async () => {
  await browser?.close();
  await instances?.close();
});

const registerIn = (origin: string) => registerWith(browser, origin);

/** The page's message texts in the order shown, sent ones only. */
function shownTexts(page: Page): Promise<string[]> {
  return page.locator('.messages li[data-seq] .content').allTextContents();
}

async function startChat(from: Page, withUsername: string): Promise<void> {
  await from.getByLabel('Chat with (username)').fill(withUsername);
  await from.getByRole('button', { name: 'Start chat' }).click();
  await from.getByLabel('Message', { exact: true }).waitFor();
}

async function sendFrom(page: Page, text: string): Promise<void> {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

describe('the chat page in Chromium, two users on two instances', () => {
  test('the page is served with hashed assets, long-lived caching and a CSP without inline script', async () => {
    const response = await fetch(`${origins[0]}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await response.text();
    const asset = /\/assets\/[A-Za-z0-9_-]+\.js/.exec(html)?.[0];
    expect(asset).toBeDefined();
    const script = await fetch(`${origins[0]}${asset}`);
    expect(script.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${origins[0]}/assets/..%2F..%2Fpackage.json`)).status).toBe(404);
  });

  test('A starts a chat with B and sends; B sees it live, with an unread badge that clears when read', async () => {
    const a = await registerIn(origins[0] as string);
    const b = await registerIn(origins[1] as string);
    await a.page.getByLabel('Chat with (username)').fill(b.username);
    await a.page.getByRole('button', { name: 'Start chat' }).click();
    await a.page.getByLabel('Message', { exact: true }).fill('hello from A');
    await a.page.getByRole('button', { name: 'Send' }).click();
    await a.page.locator('.messages li:not(.pending)', { hasText: 'hello from A' }).waitFor();

    // B, on the other instance: the new chat arrives through userEvents, its unread count too.
    const badge = b.page.getByTestId('unread');
    await expect
      .poll(async () => ((await badge.count()) > 0 ? await badge.first().textContent() : ''), { timeout: 10_000 })
      .toBe('1 unread');
    await b.page.getByRole('button', { name: new RegExp(a.username) }).click();
    await b.page.locator('.messages li', { hasText: 'hello from A' }).waitFor();
    await expect.poll(() => badge.count(), { timeout: 10_000 }).toBe(0);

    // Live, while B looks at the chat.
    await a.page.getByLabel('Message', { exact: true }).fill('second one');
    await a.page.getByRole('button', { name: 'Send' }).click();
    await b.page.locator('.messages li', { hasText: 'second one' }).waitFor();

    // Attack: markup typed into the message box renders as sanitized HTML and never runs.
    const payload = '<img src=x onerror="window.__pwned=1">safe text<script>window.__pwned=2</script>';
    await a.page.getByLabel('Message', { exact: true }).fill(payload);
    await a.page.getByRole('button', { name: 'Send' }).click();
    await b.page.locator('.messages li', { hasText: 'safe text' }).waitFor();
    await a.page.locator('.messages li:not(.pending)', { hasText: 'safe text' }).waitFor();
    for (const page of [a.page, b.page]) {
      expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
      expect(await page.locator('.messages script').count()).toBe(0);
      expect(await page.locator('.messages [onerror]').count()).toBe(0);
    }
  });

  test('B scrolls back through 200 messages of history: every one once, in order, no gap', async () => {
    const a = await registerIn(origins[0] as string);
    const b = await registerIn(origins[1] as string);
    await a.page.getByLabel('Chat with (username)').fill(b.username);
    await a.page.getByRole('button', { name: 'Start chat' }).click();
    // 200 messages through the API, as A.
    const token = await signIn(origins[0] as string, a.username);
    const chats = await api<{ chats: { edges: { node: { id: string } }[] } }>(
      origins[0] as string,
      '{ chats(first: 1) { edges { node { id } } } }',
      {},
      token,
    );
    for (let i = 1; i <= 200; i++)
      await api(
        origins[0] as string,
        'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
        { input: { chatId: chats.chats.edges[0]?.node.id, content: `history ${i}` } },
        token,
      );
    await b.page.getByRole('button', { name: new RegExp(a.username) }).click();
    await b.page.locator('.messages li', { hasText: 'history 200' }).waitFor();
    const older = b.page.getByRole('button', { name: 'Load older messages' });
    const shown = b.page.locator('.messages li[data-seq]');
    const scroller = b.page.locator('.scroller');
    // Scrolling to the top loads the page before, and keeps the reader's place (not thrown to the top).
    const firstCount = await shown.count();
    await scroller.evaluate((box) => {
      box.scrollTop = 0;
    });
    await expect.poll(() => shown.count(), { timeout: 10_000 }).toBeGreaterThan(firstCount);
    expect(await scroller.evaluate((box) => box.scrollTop)).toBeGreaterThan(0);
    // And so on, scrolling up, back to the first message.
    await expect
      .poll(
        async () => {
          await scroller.evaluate((box) => {
            box.scrollTop = 0;
          });
          return older.count();
        },
        { timeout: 30_000 },
      )
      .toBe(0);
    await b.page.locator('.messages li', { hasText: 'history 1' }).first().waitFor();
    expect(await older.count()).toBe(0);
    const seqs = await b.page
      .locator('.messages li[data-seq]')
      .evaluateAll((items) => items.map((item) => Number(item.getAttribute('data-seq'))));
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => (seqs[0] as number) + i));
    const texts = await b.page.locator('.messages li .content').allTextContents();
    expect(new Set(texts).size).toBe(200);
  });

  test("A's connection is cut and restored: what B sent meanwhile appears once, in order, and an edit made meanwhile shows", async () => {
    // A's page is loaded through a proxy in front of instance 0: cutting it closes A's WebSocket
    // and refuses A's requests, as a network loss would.
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(origins[0] as string).port) });
    try {
      const a = await registerIn(proxy.origin);
      const b = await registerIn(origins[1] as string);
      await startChat(a.page, b.username);
      await sendFrom(a.page, 'before the cut');
      await b.page.getByRole('button', { name: new RegExp(a.username) }).click();
      await b.page.locator('.messages li', { hasText: 'before the cut' }).waitFor();
      await sendFrom(b.page, 'to be changed');
      await a.page.locator('.messages li', { hasText: 'to be changed' }).waitFor();

      proxy.cut();
      await a.page.getByTestId('connection-lost').waitFor();
      // A sends while cut: the send fails on the network, is retried with the same clientId.
      await sendFrom(a.page, 'sent by A while cut');
      for (let i = 1; i <= 5; i++) {
        await sendFrom(b.page, `while away ${i}`);
        await b.page.locator('.messages li:not(.pending)', { hasText: `while away ${i}` }).waitFor();
      }
      const token = await signIn(origins[1] as string, b.username);
      const chats = await api<{ chats: { edges: { node: { id: string } }[] } }>(
        origins[1] as string,
        '{ chats(first: 1) { edges { node { id } } } }',
        {},
        token,
      );
      const history = await api<{ messages: { edges: { node: { id: string; content: string } }[] } }>(
        origins[1] as string,
        'query ($c: ID!) { messages(chatId: $c, last: 20) { edges { node { id content } } } }',
        { c: chats.chats.edges[0]?.node.id },
        token,
      );
      const toChange = history.messages.edges.find((edge) => edge.node.content === 'to be changed')?.node.id;
      await api(
        origins[1] as string,
        'mutation ($id: ID!) { editMessage(id: $id, content: "edited while away") { id } }',
        { id: toChange },
        token,
      );
      // Nothing of it reached A yet.
      expect(await shownTexts(a.page)).toEqual(['before the cut', 'to be changed']);

      proxy.restore();
      await a.page.getByTestId('connection-lost').waitFor({ state: 'detached', timeout: 30_000 });
      await a.page
        .locator('.messages li:not(.pending)', { hasText: 'sent by A while cut' })
        .waitFor({ timeout: 30_000 });
      await a.page.locator('.messages li', { hasText: 'edited while away' }).waitFor();
      const expected = [
        'before the cut',
        'edited while away',
        'while away 1',
        'while away 2',
        'while away 3',
        'while away 4',
        'while away 5',
        'sent by A while cut',
      ];
      await expect.poll(() => shownTexts(a.page), { timeout: 10_000 }).toEqual(expected);
      expect(await a.page.locator('.messages li.pending').count()).toBe(0);
      // B sees A's message once too.
      await expect.poll(() => shownTexts(b.page), { timeout: 10_000 }).toEqual(expected);
    } finally {
      await proxy.close();
    }
  });

  test('A creates a group and invites B, who accepts; B sees A typing, and A editing and deleting in place', async () => {
    const a = await registerIn(origins[0] as string);
    const b = await registerIn(origins[1] as string);
    // B asked to be invited rather than put in groups (a setting; the default adds people at once).
    await api(
      origins[1] as string,
      'mutation { updateSettings(input: { requireInvitation: true }) { requireInvitation } }',
      {},
      await signIn(origins[1] as string, b.username),
    );
    await a.page.getByText('New group').click();
    await a.page.getByLabel('Group name').fill('Weekend plans');
    await a.page.getByLabel('People to invite (usernames)').fill(b.username);
    await a.page.getByRole('button', { name: 'Create group' }).click();
    await a.page.getByRole('heading', { name: 'Weekend plans' }).waitFor();
    await a.page.getByText(`${b.username} (invited)`).waitFor();

    // B's invitation arrives live; accepting opens the chat.
    await b.page.getByText(`invites you to Weekend plans`).waitFor({ timeout: 10_000 });
    await b.page.getByRole('button', { name: 'Accept' }).click();
    await b.page.getByRole('heading', { name: 'Weekend plans' }).waitFor();

    // Typing reaches B (across instances) and fades when it stops.
    await a.page.getByLabel('Message', { exact: true }).pressSequentially('fir');
    await b.page.getByText(`${a.username} is typing…`).waitFor({ timeout: 10_000 });
    await a.page.getByLabel('Message', { exact: true }).fill('first draft');
    await a.page.getByLabel('Message', { exact: true }).press('Enter');
    await b.page.locator('.messages li', { hasText: 'first draft' }).waitFor();
    await b.page.getByText(`${a.username} is typing…`).waitFor({ state: 'detached', timeout: 10_000 });
    // Only your own messages can be edited: B gets no Edit button on A's message.
    expect(await b.page.getByRole('button', { name: 'Edit message' }).count()).toBe(0);

    await a.page.getByRole('button', { name: 'Edit message' }).click();
    await a.page.getByLabel('Edit message').fill('final <b>text</b>');
    await a.page.getByRole('button', { name: 'Save' }).click();
    const edited = b.page.locator('.messages li', { hasText: 'final text' });
    await edited.getByText('(edited)').waitFor();
    expect(await edited.locator('.content b').textContent()).toBe('text');
    await a.page.getByRole('button', { name: 'Delete message' }).click();
    await b.page.locator('.messages li', { hasText: 'message deleted' }).waitFor();
    expect(await b.page.locator('.messages li', { hasText: 'final text' }).count()).toBe(0);

    // The owner invites a third person from the chat's header.
    const c = `web${Date.now().toString(36)}c`;
    await api(origins[0] as string, 'mutation ($input: RegisterInput!) { register(input: $input) { accessToken } }', {
      input: { username: c, email: `${c}@example.com`, password: PASSWORD },
    });
    await a.page.getByLabel('Invite (username)').fill(c);
    await a.page.getByRole('button', { name: 'Invite', exact: true }).click();
    // C has the default setting: a member at once, not invited.
    await a.page.getByText(`${c} was added.`).waitFor();
    await expect.poll(() => a.page.locator('.chat-header .people').textContent(), { timeout: 10_000 }).toContain(c);
    expect(await a.page.locator('.chat-header .people').textContent()).not.toContain(`${c} (invited)`);
    expect(await a.page.locator('.chat-header .people').textContent()).not.toContain(`${b.username} (invited)`);
  });

  test('the chat list pages: 20 chats, then more on request, newest first', async () => {
    const a = await registerIn(origins[0] as string);
    const token = await signIn(origins[0] as string, a.username);
    for (let i = 1; i <= 23; i++)
      await api(
        origins[0] as string,
        'mutation ($input: CreateChatInput!) { createChat(input: $input) { id } }',
        { input: { title: `group ${i}`, participantIds: [] } },
        token,
      );
    await a.page.reload();
    const names = a.page.locator('.chats .chat-name');
    await expect.poll(() => names.count(), { timeout: 10_000 }).toBe(20);
    expect(await names.first().textContent()).toBe('group 23');
    await a.page.getByRole('button', { name: 'More chats' }).click();
    await expect.poll(() => names.count(), { timeout: 10_000 }).toBe(23);
    expect(await names.allTextContents()).toEqual(Array.from({ length: 23 }, (_, i) => `group ${23 - i}`));
    expect(await a.page.getByRole('button', { name: 'More chats' }).count()).toBe(0);
  });

  test('a display name with markup, seeded in the database (the API refuses it), shows as text and never runs', async () => {
    const a = await registerIn(origins[0] as string);
    const payload = '<img src=x onerror="window.__pwned=3">Mallory<script>window.__pwned=4</script>';
    await instances.pool.query('UPDATE users SET display_name = $1 WHERE username = $2', [payload, a.username]);
    const b = await registerIn(origins[1] as string);
    await startChat(b.page, a.username);
    await sendFrom(b.page, 'hi there');
    // A's page, reloaded so that it reads its own name again, says something too.
    await a.page.reload();
    await a.page.getByRole('button', { name: new RegExp(b.username) }).click();
    await sendFrom(a.page, 'hello back');
    await b.page.locator('.messages li', { hasText: 'hello back' }).waitFor();
    for (const page of [a.page, b.page]) {
      expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
      expect(await page.locator('img, script:not([src])').count()).toBe(0);
    }
    // Shown literally, as the text it is: in B's chat list, the chat's header and beside the message.
    expect(await b.page.locator('.chats .chat-name').first().textContent()).toBe(payload);
    expect(await b.page.locator('.chat-header h2').textContent()).toBe(payload);
    expect(await b.page.locator('.messages li', { hasText: 'hello back' }).locator('.sender').textContent()).toBe(
      payload,
    );
  });

  test('tokens are refreshed transparently (live updates included); a revoked session says so; log out ends the session', async () => {
    // An instance of its own whose access tokens live 3 s: the page outlives several of them.
    const database = await createTestDatabase(inject('infra'), 'chat_page_tokens');
    const shortLived = await startInstances({ primary: database.primary, auth: { accessTtlMs: 3000 } });
    try {
      const origin = new URL(shortLived.urls[0] as string).origin;
      const a = await registerIn(origin);
      const b = await registerIn(origin);
      await startChat(a.page, b.username);
      await sendFrom(a.page, 'before the tokens expire');
      await b.page.getByRole('button', { name: new RegExp(a.username) }).click();
      await b.page.locator('.messages li', { hasText: 'before the tokens expire' }).waitFor();
      // Three lifetimes later, both ways still live, with no error and no reconnect notice.
      await new Promise((resolve) => setTimeout(resolve, 9000));
      await sendFrom(a.page, 'after three lifetimes');
      await b.page.locator('.messages li', { hasText: 'after three lifetimes' }).waitFor({ timeout: 10_000 });
      await sendFrom(b.page, 'the reply');
      await a.page.locator('.messages li', { hasText: 'the reply' }).waitFor({ timeout: 10_000 });
      for (const page of [a.page, b.page]) {
        expect(await page.getByRole('alert').count()).toBe(0);
        expect(await page.getByTestId('connection-lost').count()).toBe(0);
      }

      // A's sessions revoked elsewhere: A's page says the session is over (its streams ended).
      const token = await signIn(origin, a.username);
      await api(origin, 'mutation { revokeAllSessions }', {}, token);
      await a.page.getByText('Your session has expired. Please sign in again.').waitFor({ timeout: 10_000 });
      expect(await a.page.evaluate(() => sessionStorage.getItem('switchboard.refreshToken'))).toBeNull();

      // B logs out: back to the sign-in form, and the refresh token the tab held is dead.
      const refreshToken = await b.page.evaluate(() => sessionStorage.getItem('switchboard.refreshToken'));
      expect(refreshToken).toBeTruthy();
      await b.page.getByRole('button', { name: 'Log out' }).click();
      await b.page.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(await b.page.getByText('Your session has expired').count()).toBe(0);
      await expect
        .poll(() =>
          api(origin, 'mutation ($t: String!) { refreshToken(refreshToken: $t) { accessToken } }', {
            t: refreshToken,
          }).then(
            () => 'accepted',
            () => 'refused',
          ),
        )
        .toBe('refused');
    } finally {
      await shortLived.close();
    }
  });

  test("the server's validation messages show next to their field", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${origins[0]}/`);
      await page.getByRole('button', { name: 'New here? Create an account' }).click();
      await page.getByLabel('Username').fill(`web${Date.now().toString(36)}v`);
      await page.getByLabel('Email').fill('valid@example.com');
      await page.getByLabel('Password').fill('short');
      await page.getByRole('button', { name: 'Create account' }).click();
      const message = page.locator('#password-error');
      await expect.poll(() => message.textContent(), { timeout: 10_000 }).not.toBe('');
      expect(await page.getByLabel('Password').getAttribute('aria-invalid')).toBe('true');
      expect(await page.getByLabel('Username').getAttribute('aria-invalid')).toBeNull();
      expect(await page.locator('#username-error').textContent()).toBe('');
    } finally {
      await context.close();
    }
  });

  test('sending too fast shows the rate-limit message with a countdown, and Send waits for it', async () => {
    // An instance of its own, with a budget of three messages an hour per user.
    const database = await createTestDatabase(inject('infra'), 'chat_page_limits');
    const limited = await startInstances({ primary: database.primary, limits: { messagesPerHour: 3 } });
    try {
      const origin = new URL(limited.urls[0] as string).origin;
      const a = await registerIn(origin);
      const b = await registerIn(origin);
      await a.page.getByLabel('Chat with (username)').fill(b.username);
      await a.page.getByRole('button', { name: 'Start chat' }).click();
      const box = a.page.getByLabel('Message', { exact: true });
      for (let i = 1; i <= 3; i++) {
        await box.fill(`allowed ${i}`);
        await a.page.getByRole('button', { name: 'Send' }).click();
        await a.page.locator('.messages li:not(.pending)', { hasText: `allowed ${i}` }).waitFor();
      }
      await box.fill('one too many');
      await a.page.getByRole('button', { name: 'Send' }).click();
      const notice = a.page.getByTestId('rate-limited');
      await notice.waitFor();
      const first = Number(/try again in (\d+) s/.exec((await notice.textContent()) ?? '')?.[1]);
      expect(first).toBeGreaterThan(0);
      expect(await a.page.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
      // A countdown: the seconds go down while it waits.
      await expect
        .poll(async () => Number(/try again in (\d+) s/.exec((await notice.textContent()) ?? '')?.[1]), {
          timeout: 5_000,
        })
        .toBeLessThan(first);
      // The refused message is marked as not sent, never shown as sent.
      await a.page.locator('.messages li.pending', { hasText: 'one too many' }).getByText('not sent').waitFor();
    } finally {
      await limited.close();
    }
  });
});
