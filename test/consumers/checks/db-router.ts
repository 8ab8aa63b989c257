import { strictEqual } from 'node:assert/strict';
import { createDbRouter, createMemoryTokenStore, formatLsn, isCausalToken, parseLsn } from '@switchboard/db-router';

export async function check(): Promise<void> {
  strictEqual(formatLsn(parseLsn('16/B374D848') ?? 0n), '16/B374D848');
  strictEqual(isCausalToken('not a token'), false);
  strictEqual(await createMemoryTokenStore().get('user:1'), undefined);
  // pg pools connect on first query: building the router opens no connection.
  const router = await createDbRouter({ primary: 'postgres://app@127.0.0.1:1/app' });
  await router.close();
}
