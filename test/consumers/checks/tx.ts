import { deepStrictEqual, match, rejects } from 'node:assert/strict';
import { createOutbox, isTxError, runSaga, uuidv7, withTransaction } from '@switchboard/tx';
import { Pool } from 'pg';

export async function check(): Promise<void> {
  match(uuidv7(), /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const undone: string[] = [];
  const saga = runSaga([
    { name: 'reserve', execute: () => 'seat', compensate: () => undone.push('reserve') },
    {
      name: 'charge',
      execute: () => {
        throw new Error('card declined');
      },
    },
  ]);
  await rejects(saga, (error) => isTxError(error) && error.code === 'SAGA_FAILED');
  deepStrictEqual(undone, ['reserve']);
  createOutbox();
  // Nothing listens on port 1: the transaction fails to connect, quickly and as a rejection.
  const pool = new Pool({ connectionString: 'postgres://app@127.0.0.1:1/app' });
  await rejects(withTransaction(pool, async () => 1));
  await pool.end();
}
