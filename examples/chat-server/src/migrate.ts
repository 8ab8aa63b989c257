// `npm run migrate`: applies the schema to DATABASE_URL, or to the embedded server's data folder.
import { ConfigError, loadConfig } from './config.ts';
import { migrateDatabase, openDatabase } from './db/database.ts';

try {
  const database = await openDatabase(loadConfig(), { poolSize: 2 });
  try {
    const applied = await migrateDatabase(database);
    process.stdout.write(
      applied.length ? `applied ${applied.length} migration(s):\n  ${applied.join('\n  ')}\n` : 'schema up to date\n',
    );
  } finally {
    await database.close();
  }
} catch (error) {
  const prefix = error instanceof ConfigError ? 'invalid configuration' : 'migrate failed';
  process.stderr.write(`${prefix}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
