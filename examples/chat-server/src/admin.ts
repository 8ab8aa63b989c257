// `npm run admin -- grant <username>`: makes a user a platform admin (see admin-command.ts), on
// the database DATABASE_URL names (or the embedded server's data folder), telling running
// instances through Redis when REDIS_URL / REDIS_SENTINELS is set.
import { userInfo } from 'node:os';
import { createRbac } from '@switchboard/rbac';
import { createPostgresGrantStore, createPostgresPolicyStore } from '@switchboard/rbac/postgres';
import { createRedisRbacBus } from '@switchboard/rbac/redis';
import { AdminUsageError, runAdminCommand } from './admin-command.ts';
import { codeRoles, conditions } from './chat/roles.ts';
import { ConfigError, loadConfig } from './config.ts';
import { openDatabase } from './db/database.ts';
import { connectRedis } from './redis.ts';

const config = (() => {
  try {
    return loadConfig();
  } catch (error) {
    process.stderr.write(`invalid configuration: ${(error as ConfigError).message}\n`);
    process.exit(2);
  }
})();
const database = await openDatabase(config, { poolSize: 2 });
const redis = config.redis ? connectRedis(config.redis) : undefined;
try {
  const rbac = await createRbac({
    roles: codeRoles,
    conditions,
    policyStore: createPostgresPolicyStore({ pool: database.pool }),
    store: createPostgresGrantStore({ pool: database.pool }),
    policyPollMs: false,
    cache: redis ? { bus: createRedisRbacBus({ publisher: redis.client(), subscriber: redis.client() }) } : {},
  });
  try {
    const line = await runAdminCommand(process.argv.slice(2), {
      pool: database.pool,
      rbac,
      actor: `cli:${operator()}`,
    });
    process.stdout.write(`${line}\n`);
  } finally {
    rbac.close();
  }
} catch (error) {
  const usage = error instanceof AdminUsageError || error instanceof ConfigError;
  process.stderr.write(`${usage ? '' : 'admin failed: '}${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = usage ? 2 : 1;
} finally {
  await redis?.close();
  await database.close();
}

/** Who runs the command, for the audit trail (a container may have no passwd entry). */
function operator(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}
