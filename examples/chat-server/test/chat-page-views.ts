/**
 * The chat page's views as tests and scripts need them: Debian's Chromium launched through the
 * pinned playwright-core, users registered through the page or the API, a realistic conversation
 * seeded through the API, and the chat view opened and photographed at desktop and phone width.
 * Helpers only: no test code here.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { DEFAULT_WEB_ROOT } from '../src/web.ts';

/** Debian's Chromium unless `CHROMIUM_PATH` names another. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The Chromium major the pinned playwright-core release (root package.json) is built for. */
export const PLAYWRIGHT_CHROMIUM_MAJOR = 156;
/** Every user's password here: long enough, and free of their names (the server checks both). */
export const PASSWORD = 'violet-Otter-42-Lantern!';

/** The two views the screenshots show: a laptop and a phone (CSS pixels; the PNG is scaled by `deviceScaleFactor`). */
export const VIEWS = {
  desktop: { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 },
  phone: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
} as const satisfies Record<string, BrowserContextOptions>;

export type ViewName = keyof typeof VIEWS;

/** Throws, saying how to build it, when the chat page has not been built. */
export function assertPageBuilt(): void {
  if (!existsSync(join(DEFAULT_WEB_ROOT, 'index.html')))
    throw new Error('the chat page is not built: npm run build -w @switchboard/chat-web');
}

/**
 * Debian's Chromium, driven by the playwright-core release built for the same major: no browser
 * download. Refuses another major, which playwright-core may drive wrongly.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  const version = browser.version();
  const major = Number(version.split('.')[0]);
  if (major !== PLAYWRIGHT_CHROMIUM_MAJOR) {
    await browser.close();
    throw new Error(
      `Chromium ${version} at ${CHROMIUM}, but playwright-core is pinned for ${PLAYWRIGHT_CHROMIUM_MAJOR}: pin the playwright-core release whose browsers.json names Chromium ${major}`,
    );
  }
  return browser;
}

let names = 0;
/** A name no other call in this process gives, for usernames in a shared database. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${names++}`;
}

/** A new user registered through the page's own form, signed in, in a browser context of its own. */
export async function registerIn(
  browser: Browser,
  origin: string,
  contextOptions: BrowserContextOptions = {},
): Promise<{ page: Page; username: string }> {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  const username = `web${uniqueSuffix()}`;
  await page.goto(`${origin}/`);
  await page.getByRole('button', { name: 'New here? Create an account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Email').fill(`${username}@example.com`);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByText(`Signed in as ${username}`).waitFor();
  return { page, username };
}

/** GraphQL over HTTP from Node (not through a page), as the user whose access token is given. */
export async function api<T>(
  origin: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<T> {
  const response = await fetch(`${origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors) throw new Error(body.errors.map((error) => error.message).join('; '));
  return body.data as T;
}

/** A fresh access token for a user, through `login`. */
export async function signIn(origin: string, username: string): Promise<string> {
  const data = await api<{ login: { accessToken: string } }>(
    origin,
    'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }',
    { input: { username, password: PASSWORD } },
  );
  return data.login.accessToken;
}

/** A user registered through the API, with the access token the registration answered. */
export interface SeededUser {
  id: string;
  username: string;
  displayName: string;
  token: string;
}

/** Registers a user through the API (password {@link PASSWORD}). */
export async function registerUser(origin: string, username: string, displayName: string): Promise<SeededUser> {
  const data = await api<{ register: { accessToken: string; user: { id: string } } }>(
    origin,
    'mutation ($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }',
    { input: { username, email: `${username}@example.com`, password: PASSWORD, displayName } },
  );
  return { id: data.register.user.id, username, displayName, token: data.register.accessToken };
}

/** Sends a message as `from`; the content is rich text, sanitized by the server. */
export async function sendMessage(origin: string, from: SeededUser, chatId: string, content: string): Promise<void> {
  await api(
    origin,
    'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
    { input: { chatId, content } },
    from.token,
  );
}

async function createChat(origin: string, owner: SeededUser, others: SeededUser[], title?: string): Promise<string> {
  const data = await api<{ createChat: { id: string } }>(
    origin,
    'mutation ($input: CreateChatInput!) { createChat(input: $input) { id } }',
    { input: { participantIds: others.map((user) => user.id), ...(title ? { title } : {}) } },
    owner.token,
  );
  return data.createChat.id;
}

/** Two users in a direct chat: `me` is the one who looks at it, `other` the one they talk to. */
export interface Conversation {
  me: SeededUser;
  other: SeededUser;
  chatId: string;
  /** The last message's text as the page shows it: the view is ready when it is. */
  lastText: string;
}

/** Who says what, in order; the server keeps `<b>`, `<strong>`, `<code>` and http(s) links. */
const CONVERSATION: readonly { from: 'me' | 'other'; content: string }[] = [
  { from: 'other', content: 'Morning! Did the failover drill finish overnight?' },
  {
    from: 'me',
    content:
      'It did. The primary was killed twice and <b>no message was lost</b>; the replicas caught up within a second.',
  },
  {
    from: 'other',
    content:
      'Great news. Could you add the numbers to the release notes? The draft is at <a href="https://example.com/release-notes">example.com/release-notes</a>.',
  },
  { from: 'me', content: 'Sure: p99 for <code>sendMessage</code> stayed at 38 ms during the switch.' },
  { from: 'other', content: 'That is <strong>much</strong> better than last month.' },
  { from: 'other', content: "I'll tell the team at stand-up. Lunch at 12:30?" },
  { from: 'me', content: 'Yes, see you there.' },
];

/**
 * Registers Ada and Grace (usernames `ada<suffix>`, `grace<suffix>`) and puts them in a direct
 * chat with a handful of messages, some of them bold, code or a link.
 */
export async function seedConversation(origin: string, options: { suffix?: string } = {}): Promise<Conversation> {
  const suffix = options.suffix ?? '';
  const me = await registerUser(origin, `ada${suffix}`, 'Ada Lovelace');
  const other = await registerUser(origin, `grace${suffix}`, 'Grace Hopper');
  const chatId = await createChat(origin, other, [me]);
  for (const line of CONVERSATION) await sendMessage(origin, line.from === 'me' ? me : other, chatId, line.content);
  return { me, other, chatId, lastText: 'Yes, see you there.' };
}

/**
 * What else `me`'s chat list shows: a direct chat with Alan with two unread messages (a badge),
 * and an invitation from Katherine to the group "Release 1.0" (`me` is set to require
 * invitations). Usernames `alan<suffix>`, `katherine<suffix>`.
 */
export async function seedChatList(
  origin: string,
  me: SeededUser,
  options: { suffix?: string } = {},
): Promise<{ unreadChatId: string; invitationChatId: string }> {
  const suffix = options.suffix ?? '';
  const alan = await registerUser(origin, `alan${suffix}`, 'Alan Turing');
  const katherine = await registerUser(origin, `katherine${suffix}`, 'Katherine Johnson');
  await api(
    origin,
    'mutation { updateSettings(input: { requireInvitation: true }) { requireInvitation } }',
    {},
    me.token,
  );
  const invitationChatId = await createChat(origin, katherine, [me], 'Release 1.0');
  const unreadChatId = await createChat(origin, alan, [me]);
  await sendMessage(origin, alan, unreadChatId, 'Quick question about the rate limits, when you have a minute.');
  await sendMessage(origin, alan, unreadChatId, 'No rush, tomorrow is fine.');
  return { unreadChatId, invitationChatId };
}

/** Signs `user` in through the page's form, in a new browser context with these options. */
export async function signInPage(
  browser: Browser,
  origin: string,
  user: SeededUser,
  contextOptions: BrowserContextOptions = {},
): Promise<Page> {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByText(`Signed in as ${user.displayName}`).waitFor();
  return page;
}

/**
 * Signs `conversation.me` in at this view's size and opens the chat with `conversation.other`:
 * resolves once every message shows, the chat is marked read and the fonts are loaded.
 */
export async function openConversation(
  browser: Browser,
  origin: string,
  conversation: Conversation,
  view: ViewName,
): Promise<Page> {
  const page = await signInPage(browser, origin, conversation.me, VIEWS[view]);
  await page.getByRole('button', { name: conversation.other.displayName }).click();
  await page.locator('.messages li:not(.pending)', { hasText: conversation.lastText }).waitFor();
  // Reading it clears its badge: wait for that, so a screenshot never catches it half-way.
  await page.locator('.chats button[aria-current="true"] [data-testid="unread"]').waitFor({ state: 'detached' });
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
  return page;
}

/**
 * Seeds a conversation (and the rest of the chat list) and writes `chat-desktop.png` (1280×800)
 * and `chat-phone.png` (390×844 at device scale 2, so 780 pixels wide) of the chat view into
 * `outDir`, created if missing. Usernames carry `options.suffix` (none by default: run it on a
 * database of its own).
 */
export async function takeChatScreenshots(
  browser: Browser,
  origin: string,
  outDir: string,
  options: { suffix?: string } = {},
): Promise<Record<ViewName, string>> {
  const conversation = await seedConversation(origin, options);
  await seedChatList(origin, conversation.me, options);
  await mkdir(outDir, { recursive: true });
  const files = { desktop: join(outDir, 'chat-desktop.png'), phone: join(outDir, 'chat-phone.png') };
  for (const view of ['desktop', 'phone'] as const) {
    const page = await openConversation(browser, origin, conversation, view);
    try {
      await page.screenshot({ path: files[view], animations: 'disabled', caret: 'hide' });
    } finally {
      await page.context().close();
    }
  }
  return files;
}
