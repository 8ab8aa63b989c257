import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase } from '@switchboard/infra';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { DEFAULT_WEB_ROOT } from '../src/web.ts';
import { type Instances, startInstances } from './instances.ts';
import { startTcpProxy } from './tcp-proxy.ts';

// Debian's Chromium, driven by the playwright-core release built for the same major (pinned in
// the root package.json): no browser download.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PLAYWRIGHT_CHROMIUM_MAJOR = 156;
const PASSWORD = 'violet-Otter-42-Lantern!';

let instances: Instances;
let browser: Browser;
let origins: string[];

beforeAll(async () => {
  if (!existsSync(join(DEFAULT_WEB_ROOT, 'index.html')))
    throw new Error('the chat page is not built: npm run build -w @switchboard/chat-web');
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  const major = Number(browser.version().split('.')[0]);
  if (major !== PLAYWRIGHT_CHROMIUM_MAJOR)
    throw new Error(
      `Chromium ${browser.version()} at ${CHROMIUM}, but playwright-core is pinned for ${PLAYWRIGHT_CHROMIUM_MAJOR}: pin the playwright-core release whose browsers.json names Chromium ${major}`,
    );
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

let names = 0;
async function registerIn(origin: string): Promise<{ page: Page; username: string }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const username = `web${Date.now().toString(36)}${names++}`;
  await page.goto(`${origin}/`);
  await page.getByRole('button', { name: 'New here? Create an account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Email').fill(`${username}@example.com`);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByText(`Signed in as ${username}`).waitFor();
  return { page, username };
}

/** GraphQL over HTTP from the test itself (not through a page), as a signed-in user. */
async function api<T>(origin: string, query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
  const response = await fetch(`${origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors) throw new Error(body.errors.map((error) => error.message).join('; '));
  return body.data as T;
}

async function signIn(origin: string, username: string): Promise<string> {
  const data = await api<{ login: { accessToken: string } }>(
    origin,
    'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }',
    { input: { username, password: PASSWORD } },
  );
  return data.login.accessToken;
}

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
    // 200 messages through the API, as A (the page's own token, from its session).
    const sent = await a.page.evaluate(async (count) => {
      const refreshToken = sessionStorage.getItem('switchboard.refreshToken');
      const post = async (query: string, variables: Record<string, unknown>, token?: string) =>
        (await (
          await fetch('/graphql', {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
            body: JSON.stringify({ query, variables }),
          })
        ).json()) as { data: Record<string, { accessToken?: string; refreshToken?: string }> };
      const refreshed = await post(
        'mutation ($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }',
        {
          t: refreshToken,
        },
      );
      sessionStorage.setItem('switchboard.refreshToken', refreshed.data.refreshToken?.refreshToken as string);
      const token = refreshed.data.refreshToken?.accessToken as string;
      const chats = (await post('{ chats(first: 1) { edges { node { id } } } }', {}, token)) as unknown as {
        data: { chats: { edges: { node: { id: string } }[] } };
      };
      const chatId = chats.data.chats.edges[0]?.node.id as string;
      for (let i = 1; i <= count; i++)
        await post(
          'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
          { input: { chatId, content: `history ${i}` } },
          token,
        );
      return count;
    }, 200);
    expect(sent).toBe(200);
    await b.page.getByRole('button', { name: new RegExp(a.username) }).click();
    await b.page.locator('.messages li', { hasText: 'history 200' }).waitFor();
    const older = b.page.getByRole('button', { name: 'Load older messages' });
    const shown = b.page.locator('.messages li[data-seq]');
    for (let page = 0; page < 20 && (await older.count()) > 0; page++) {
      const before = await shown.count();
      await older.click();
      await expect.poll(() => shown.count(), { timeout: 10_000 }).toBeGreaterThan(before);
    }
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
      await sendFrom(b.page, 'edit me');
      await a.page.locator('.messages li', { hasText: 'edit me' }).waitFor();

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
      const editMe = history.messages.edges.find((edge) => edge.node.content === 'edit me')?.node.id;
      await api(
        origins[1] as string,
        'mutation ($id: ID!) { editMessage(id: $id, content: "edited while away") { id } }',
        { id: editMe },
        token,
      );
      // Nothing of it reached A yet.
      expect(await shownTexts(a.page)).toEqual(['before the cut', 'edit me']);

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
