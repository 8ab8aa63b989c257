import type { Rbac } from '@switchboard/rbac';
import type pg from 'pg';
import { PLATFORM_ADMIN } from './chat/roles.ts';

export const ADMIN_USAGE = `usage: npm run admin -- grant <username>    make the user a platform admin
       npm run admin -- revoke <username>   take it back
       npm run admin -- list                who is one`;

/** A mistake in the command line or its username: said on stderr, exit code 2 (1 for a failure). */
export class AdminUsageError extends Error {
  override readonly name = 'AdminUsageError';
}

/**
 * `npm run admin -- …` once its connections are open: grants or revokes the global
 * `platform-admin` role (through rbac, so every running instance drops its cached grants at
 * once through the bus, and the audit trail records `actor`), or lists who holds it. Answers
 * the line to print.
 */
export async function runAdminCommand(
  args: readonly string[],
  deps: { pool: pg.Pool; rbac: Rbac; actor: string },
): Promise<string> {
  const [command, username, ...rest] = args;
  if (rest.length > 0) throw new AdminUsageError(`unexpected arguments: ${rest.join(' ')}\n${ADMIN_USAGE}`);
  if (command === 'list' && username === undefined) {
    const { rows } = await deps.pool.query<{ username: string }>(
      `SELECT u.username FROM switchboard_rbac_grants g JOIN users u ON u.id::text = g.user_id
        WHERE g.role = $1 AND g.scope = '' ORDER BY u.username`,
      [PLATFORM_ADMIN],
    );
    return rows.length === 0 ? 'no platform admins' : rows.map((row) => row.username).join('\n');
  }
  if ((command !== 'grant' && command !== 'revoke') || !username) throw new AdminUsageError(ADMIN_USAGE);
  const { rows } = await deps.pool.query<{ id: string; username: string }>(
    'SELECT id, username FROM users WHERE lower(username) = $1',
    [username.normalize('NFKC').toLowerCase()],
  );
  const user = rows[0];
  if (!user) throw new AdminUsageError(`no user named "${username}"`);
  if (command === 'grant') {
    await deps.rbac.grant(user.id, PLATFORM_ADMIN, undefined, { actor: deps.actor });
    return `${user.username} (${user.id}) is a platform admin`;
  }
  await deps.rbac.revoke(user.id, PLATFORM_ADMIN, undefined, { actor: deps.actor });
  return `${user.username} (${user.id}) is no longer a platform admin`;
}
