/**
 * `npm run screenshots`: writes examples/chat-web/docs/chat-desktop.png and chat-phone.png, the
 * chat view with a conversation open, as the README shows it. Starts everything it needs on
 * 127.0.0.1 (the embedded PostgreSQL in a temporary folder, one server instance, Chromium) and
 * stops it all again; builds the page first when it is stale.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { assertPageBuilt, launchChromium, takeChatScreenshots } from '../test/chat-page-views.ts';
import { startInstances } from '../test/instances.ts';

const run = promisify(execFile);
const chatWeb = fileURLToPath(new URL('../../chat-web/', import.meta.url));
const outDir = join(chatWeb, 'docs');

async function main(): Promise<void> {
  const built = await run(process.execPath, [join(chatWeb, 'build-if-stale.mjs')]);
  process.stdout.write(built.stdout);
  assertPageBuilt();

  // A database of its own, thrown away afterwards: the screenshots never depend on local data.
  const dataDir = await mkdtemp(join(tmpdir(), 'switchboard-screenshots-'));
  try {
    const postgres = await startEmbeddedPostgres({ dataDir });
    try {
      const instances = await startInstances({ primary: postgres.url });
      try {
        const browser = await launchChromium();
        try {
          const origin = new URL(instances.urls[0] as string).origin;
          const files = await takeChatScreenshots(browser, origin, outDir);
          for (const file of Object.values(files)) process.stdout.write(`wrote ${relative(process.cwd(), file)}\n`);
        } finally {
          await browser.close();
        }
      } finally {
        await instances.close();
      }
    } finally {
      await postgres.stop();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`screenshots failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
