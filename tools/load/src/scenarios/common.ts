import pg from 'pg';
import type { SystemUnderTest } from '../system.ts';
import type { RequestTemplate, Workload } from '../workload.ts';
import type { ScenarioContext } from './types.ts';

/** Templates sent to the chat servers, with the current tokens; CPU of servers, PostgreSQL and Redis. */
export function serverWorkload(context: ScenarioContext, templates: RequestTemplate[]): Workload {
  const { system, world } = context;
  return {
    urls: system.instances.map((instance) => instance.url),
    tokens: world.users.map((user) => user.token),
    templates,
    processes: () => ({ server: system.serverPids(), ...system.dataProcesses() }),
  };
}

/** Counts which of `ids` are in `table` on the primary. */
export async function countPersisted(system: SystemUnderTest, table: string, ids: readonly string[]): Promise<number> {
  if (!system.databaseUrl) throw new Error('no database access to a --target server');
  const client = new pg.Client({ connectionString: system.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ count: string }>(
      `SELECT count(*) FROM ${client.escapeIdentifier(table)} WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    return Number(rows[0]?.count);
  } finally {
    await client.end();
  }
}
