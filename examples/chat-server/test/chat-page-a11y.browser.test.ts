import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { createTestDatabase } from '@switchboard/infra';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import {
  assertPageBuilt,
  launchChromium,
  openConversation,
  PASSWORD,
  registerUser,
  seedChatList,
  seedConversation,
  signInPage,
  takeChatScreenshots,
  uniqueSuffix,
  VIEWS,
} from './chat-page-views.ts';
import { type Instances, startInstances } from './instances.ts';

const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

let instances: Instances;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  assertPageBuilt();
  browser = await launchChromium();
  const database = await createTestDatabase(inject('infra'), 'chat_page_a11y');
  instances = await startInstances({ primary: database.primary });
  origin = new URL(instances.urls[0] as string).origin;
});

afterAll(async () => {
  await browser?.close();
  await instances?.close();
});

/** Runs axe (WCAG 2.0/2.1 A and AA) on the page; fails listing every serious or critical violation. */
async function expectNoSeriousViolations(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze();
  const found = results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .flatMap((violation) =>
      violation.nodes.map((node) =>
        `${violation.id} (${violation.impact}) at ${node.target.join(' ')}: ${violation.help}. ${node.failureSummary ?? ''}`.trim(),
      ),
    );
  expect(found, `axe found ${found.length} serious or critical violation(s):\n${found.join('\n')}`).toEqual([]);
}

describe('the chat page has no serious or critical axe violation (WCAG 2.1 A and AA)', () => {
  test('the sign-in and create-account forms', async () => {
    const context = await browser.newContext(VIEWS.desktop);
    try {
      const page = await context.newPage();
      await page.goto(`${origin}/`);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await expectNoSeriousViolations(page);
      await page.getByRole('button', { name: 'New here? Create an account' }).click();
      await page.getByRole('heading', { name: 'Create an account' }).waitFor();
      await expectNoSeriousViolations(page);
    } finally {
      await context.close();
    }
  });

  test('the chat list, with an unread badge and an invitation', async () => {
    const suffix = uniqueSuffix();
    const conversation = await seedConversation(origin, { suffix });
    await seedChatList(origin, conversation.me, { suffix });
    const page = await signInPage(browser, origin, conversation.me, VIEWS.desktop);
    try {
      await page.getByTestId('unread').waitFor();
      await page.getByRole('region', { name: 'Invitations' }).waitFor();
      await page.getByText('Pick a chat, or start one.').waitFor();
      await expectNoSeriousViolations(page);
    } finally {
      await page.context().close();
    }
  });

  for (const view of ['desktop', 'phone'] as const) {
    test(`the chat view with messages, ${view} width`, async () => {
      const suffix = uniqueSuffix();
      const conversation = await seedConversation(origin, { suffix });
      await seedChatList(origin, conversation.me, { suffix });
      const page = await openConversation(browser, origin, conversation, view);
      try {
        // The rich text is there as markup (what axe checks), not as escaped tags.
        await page.locator('.messages .content b').first().waitFor();
        await page.locator('.messages .content a[href]').first().waitFor();
        await expectNoSeriousViolations(page);
      } finally {
        await page.context().close();
      }
    });
  }
});

/** Presses Tab (or Shift+Tab) until the element with this id has the focus; fails past `most` presses. */
async function tabTo(page: Page, id: string, key: 'Tab' | 'Shift+Tab' = 'Tab', most = 20): Promise<void> {
  for (let presses = 0; presses < most; presses++) {
    await page.keyboard.press(key);
    if ((await page.evaluate(() => document.activeElement?.id ?? '')) === id) return;
  }
  throw new Error(`${most} presses of ${key} never reached #${id}`);
}

/** The accessible name of the focused element, as a person with a screen reader would hear it. */
function focusedText(page: Page): Promise<string> {
  return page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
}

describe('keyboard only', () => {
  test('sign in, start a chat, send, then edit the message: no mouse', async () => {
    const suffix = uniqueSuffix();
    const me = await registerUser(origin, `kbd${suffix}`, 'Keyboard User');
    const other = await registerUser(origin, `kbdpeer${suffix}`, 'Peer');
    const context = await browser.newContext(VIEWS.desktop);
    try {
      const page = await context.newPage();
      await page.goto(`${origin}/`);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await tabTo(page, 'username');
      await page.keyboard.type(me.username);
      await tabTo(page, 'password');
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Enter');
      await page.getByText('Signed in as Keyboard User').waitFor();

      await tabTo(page, 'with');
      await page.keyboard.type(other.username);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Peer' }).waitFor();
      await tabTo(page, 'content');
      await page.keyboard.type('typed without a mouse');
      await page.keyboard.press('Enter');
      await page.locator('.messages li:not(.pending)', { hasText: 'typed without a mouse' }).waitFor();

      // Back from the message box to the message's own actions: Delete, then Edit.
      await page.keyboard.press('Shift+Tab');
      expect(await focusedText(page)).toBe('Delete message');
      await page.keyboard.press('Shift+Tab');
      expect(await focusedText(page)).toBe('Edit message');
      await page.keyboard.press('Enter');
      // The edit box has the focus: replace the text, then Tab to Save.
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.type('edited without a mouse');
      await page.keyboard.press('Tab');
      expect(await focusedText(page)).toBe('Save');
      await page.keyboard.press('Enter');
      await page.locator('.messages li', { hasText: 'edited without a mouse' }).getByText('(edited)').waitFor();
    } finally {
      await context.close();
    }
  });
});

describe('takeChatScreenshots', () => {
  test('writes chat-desktop.png and chat-phone.png, each as wide as its view in device pixels', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'chat-screenshots-'));
    try {
      const files = await takeChatScreenshots(browser, origin, outDir);
      expect(files).toEqual({ desktop: join(outDir, 'chat-desktop.png'), phone: join(outDir, 'chat-phone.png') });
      for (const view of ['desktop', 'phone'] as const) {
        const png = await readFile(files[view]);
        expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
        expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
        const { viewport, deviceScaleFactor } = VIEWS[view];
        expect(png.readUInt32BE(16)).toBe(viewport.width * deviceScaleFactor);
        expect(png.readUInt32BE(20)).toBe(viewport.height * deviceScaleFactor);
      }
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });
});
