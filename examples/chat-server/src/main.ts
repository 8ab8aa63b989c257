import { ConfigError, loadConfig } from './config.ts';
import { type Database, migrateDatabase, openDatabase } from './db/database.ts';
import { startServer } from './server.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const database = await openDatabase(config);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    await migrateDatabase(database);
    server = await startServer(config);
  } catch (error) {
    await database.close();
    throw error;
  }
  process.stdout.write(banner(server.url, database));

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: finishing in-flight requests, then stopping\n`);
    // In-flight requests still need the database: close it only after the HTTP server.
    void server
      .close()
      .then(() => database.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(`stopped with an error: ${error instanceof Error ? error.message : String(error)}\n`);
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function banner(url: string, database: Database): string {
  const data = database.dataDir ? `embedded PostgreSQL, data in ${database.dataDir}` : 'PostgreSQL from DATABASE_URL';
  return `Switchboard chat server: ${url} (GraphiQL in a browser)\n${data}\nStop with Ctrl-C.\n`;
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`invalid configuration: ${error.message}\n`);
  } else if (isAddressInUse(error)) {
    process.stderr.write(`cannot listen: ${error.message} (set PORT to a free port)\n`);
  } else {
    process.stderr.write(`failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exit(1);
});

function isAddressInUse(error: unknown): error is Error {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
}
