import { createTestDatabase } from '@switchboard/infra';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import {
  createTransactionContext,
  isTxError,
  RetriesExhaustedError,
  type Transaction,
  TransactionAbortedError,
  TransactionClosedError,
  TransactionTimeoutError,
  withTransaction,
} from '../src/index.ts';

let pool: pg.Pool;

/** The pool holds no checked-out client: every transaction released its connection. */
function expectAllReleased(target: pg.Pool = pool) {
  expect(target.totalCount - target.idleCount).toBe(0);
  expect(target.waitingCount).toBe(0);
}

const raise = (sqlState: string) => `DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '${sqlState}'; END $$`;

beforeAll(async () => {
  const db = await createTestDatabase(inject('infra'), 'tx');
  pool = new pg.Pool({ connectionString: db.primary, max: 55 });
  await pool.query(`
    CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL);
    CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL UNIQUE);
    CREATE SEQUENCE commit_failures;
    CREATE FUNCTION fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF nextval('commit_failures') <= 2 THEN
        RAISE EXCEPTION 'could not serialize (forced at commit)' USING ERRCODE = '40001';
      END IF;
      RETURN NULL;
    END $$;
    CREATE TABLE guarded (id int PRIMARY KEY);
    CREATE CONSTRAINT TRIGGER guarded_commit AFTER INSERT ON guarded
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_at_commit();
  `);
});

afterAll(async () => {
  await pool?.end();
});

async function counter(id: number): Promise<number | undefined> {
  const { rows } = await pool.query<{ n: number }>('SELECT n FROM counters WHERE id = $1', [id]);
  return rows[0]?.n;
}

describe('withTransaction', () => {
  test('commits, returns the callback value and releases the connection', async () => {
    await pool.query('INSERT INTO counters VALUES (1, 0)');
    const value = await withTransaction(pool, async (tx) => {
      await tx.query('UPDATE counters SET n = n + 1 WHERE id = 1');
      const { rows } = await tx.query<{ n: number }>({ text: 'SELECT n FROM counters WHERE id = $1', values: [1] });
      return rows[0]?.n;
    });
    expect(value).toBe(1);
    expect(await counter(1)).toBe(1);
    expectAllReleased();
  });

  test('50 concurrent SERIALIZABLE increments of one counter: 50, no error reaches a caller', async () => {
    await pool.query('INSERT INTO counters VALUES (2, 0)');
    // Open the connections first, so the 50 transactions really overlap instead of trickling in.
    const warm = await Promise.all(Array.from({ length: 50 }, () => pool.connect()));
    for (const client of warm) client.release();
    let retried = 0;
    const increment = () =>
      withTransaction(
        pool,
        async (tx) => {
          const { rows } = await tx.query<{ n: number }>('SELECT n FROM counters WHERE id = 2');
          await new Promise((resolve) => setTimeout(resolve, 2));
          await tx.query('UPDATE counters SET n = $1 WHERE id = 2', [(rows[0]?.n ?? 0) + 1]);
        },
        { isolation: 'serializable', retries: 100, onRetry: () => retried++ },
      );
    const results = await Promise.allSettled(Array.from({ length: 50 }, increment));
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    expect(await counter(2)).toBe(50);
    // A read-modify-write at SERIALIZABLE under this contention must have hit 40001 and retried.
    expect(retried).toBeGreaterThan(0);
    expectAllReleased();
  });

  test('a deadlock (40P01) is resolved by retrying the victim', async () => {
    await pool.query('INSERT INTO counters VALUES (10, 0), (11, 0)');
    let release!: () => void;
    const bothLocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked = 0;
    const retriedWith: string[] = [];
    const transfer = (first: number, second: number) =>
      withTransaction(
        pool,
        async (tx) => {
          await tx.query("SET LOCAL deadlock_timeout = '50ms'");
          await tx.query('UPDATE counters SET n = n + 1 WHERE id = $1', [first]);
          if (tx.attempt === 1) {
            if (++locked === 2) release();
            await bothLocked;
          }
          await tx.query('UPDATE counters SET n = n + 1 WHERE id = $1', [second]);
        },
        { retries: 3, onRetry: (error) => retriedWith.push((error as { code: string }).code) },
      );
    await Promise.all([transfer(10, 11), transfer(11, 10)]);
    expect(retriedWith).toEqual(['40P01']);
    expect(await counter(10)).toBe(2);
    expect(await counter(11)).toBe(2);
    expectAllReleased();
  });

  test('a serialization failure raised at COMMIT (deferred trigger) is retried too', async () => {
    let attempts = 0;
    await withTransaction(
      pool,
      async (tx) => {
        attempts++;
        await tx.query('INSERT INTO guarded VALUES (1)');
      },
      { retries: 5, backoff: { initialMs: 1, maxMs: 2 } },
    );
    expect(attempts).toBe(3);
    expect((await pool.query('SELECT count(*)::int AS c FROM guarded')).rows[0].c).toBe(1);
    expectAllReleased();
  });

  test('gives up after `retries` with RetriesExhaustedError carrying the last pg error', async () => {
    let attempts = 0;
    const error = await withTransaction(
      pool,
      async (tx) => {
        attempts++;
        await tx.query(raise('40001'));
      },
      { retries: 2, backoff: { initialMs: 1, maxMs: 1 } },
    ).catch((caught: unknown) => caught);
    expect(attempts).toBe(3);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(isTxError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'RETRIES_EXHAUSTED', attempts: 3, sqlState: '40001' });
    expect((error as Error).cause).toMatchObject({ code: '40001' });
    expectAllReleased();
  });

  test('other errors roll back and are rethrown unchanged (same object), never retried', async () => {
    const thrown = new Error('application failure');
    let attempts = 0;
    const caught = await withTransaction(pool, async (tx) => {
      attempts++;
      await tx.query("INSERT INTO items (label) VALUES ('rolled-back')");
      throw thrown;
    }).catch((error: unknown) => error);
    expect(caught).toBe(thrown);
    expect(attempts).toBe(1);
    const pgError = await withTransaction(pool, async (tx) => {
      await tx.query("INSERT INTO items (label) VALUES ('dup'), ('dup')");
    }).catch((error: unknown) => error);
    expect(pgError).toBeInstanceOf(pg.DatabaseError);
    expect(pgError).toMatchObject({ code: '23505' });
    expect(
      (await pool.query("SELECT count(*)::int AS c FROM items WHERE label IN ('rolled-back', 'dup')")).rows[0].c,
    ).toBe(0);
    expectAllReleased();
  });

  test('afterCommit hooks run after a commit only; afterRollback after a rollback only', async () => {
    const calls: string[] = [];
    await withTransaction(pool, async (tx) => {
      tx.afterCommit(() => calls.push('commit-1'));
      tx.afterRollback(() => calls.push('rollback-1'));
      await tx.query('SELECT 1');
      expect(calls).toEqual([]);
    });
    await withTransaction(pool, async (tx) => {
      tx.afterCommit(() => calls.push('commit-2'));
      tx.afterRollback(async () => {
        calls.push('rollback-2');
      });
      throw new Error('no');
    }).catch(() => undefined);
    expect(calls).toEqual(['commit-1', 'rollback-2']);
  });

  test('a throwing hook is reported to onHookError, not thrown into the committed caller', async () => {
    const reported: unknown[] = [];
    const hookError = new Error('hook failed');
    const ran: string[] = [];
    const value = await withTransaction(
      pool,
      async (tx) => {
        tx.afterCommit(() => {
          throw hookError;
        });
        tx.afterCommit(() => ran.push('second hook still runs'));
        return 'committed';
      },
      { onHookError: (error, phase) => reported.push([error, phase]) },
    );
    expect(value).toBe('committed');
    expect(reported).toEqual([[hookError, 'afterCommit']]);
    expect(ran).toEqual(['second hook still runs']);
  });

  test('each failed attempt runs its afterRollback hooks; afterCommit only for the attempt that committed', async () => {
    const calls: string[] = [];
    await withTransaction(
      pool,
      async (tx) => {
        tx.afterCommit(() => calls.push(`commit-${tx.attempt}`));
        tx.afterRollback(() => calls.push(`rollback-${tx.attempt}`));
        if (tx.attempt === 1) await tx.query(raise('40001'));
      },
      { retries: 1, backoff: { initialMs: 0, maxMs: 0 } },
    );
    expect(calls).toEqual(['rollback-1', 'commit-2']);
  });

  test('hooks and queries on a finished transaction are refused', async () => {
    let leaked: Transaction | undefined;
    await withTransaction(pool, async (tx) => {
      leaked = tx;
    });
    await expect(leaked?.query('SELECT 1')).rejects.toBeInstanceOf(TransactionClosedError);
    expect(() => leaked?.afterCommit(() => {})).toThrow(TransactionClosedError);
  });

  test('an error the callback swallowed without a savepoint makes COMMIT fail loudly', async () => {
    const error = await withTransaction(pool, async (tx) => {
      await tx.query("INSERT INTO items (label) VALUES ('aborted')");
      await tx.query('SELECT 1/0').catch(() => undefined);
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransactionAbortedError);
    expect((await pool.query("SELECT count(*)::int AS c FROM items WHERE label = 'aborted'")).rows[0].c).toBe(0);
    expectAllReleased();
  });

  test('timeoutMs rolls back a transaction that runs too long and rejects with TransactionTimeoutError', async () => {
    const startedAt = Date.now();
    let signalled = false;
    const error = await withTransaction(
      pool,
      async (tx) => {
        tx.signal.addEventListener('abort', () => {
          signalled = true;
        });
        await tx.query("INSERT INTO items (label) VALUES ('slow')");
        await tx.query('SELECT pg_sleep(5)');
      },
      { timeoutMs: 300 },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    expect(signalled).toBe(true);
    expect(Date.now() - startedAt).toBeLessThan(4000);
    expect((await pool.query("SELECT count(*)::int AS c FROM items WHERE label = 'slow'")).rows[0].c).toBe(0);
    expectAllReleased();
  });

  test("a statement_timeout the callback sets itself stays pg's own error", async () => {
    const error = await withTransaction(
      pool,
      async (tx) => {
        await tx.query("SET LOCAL statement_timeout = '50ms'");
        await tx.query('SELECT pg_sleep(2)');
      },
      { timeoutMs: 5000 },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(pg.DatabaseError);
    expect(error).toMatchObject({ code: '57014' });
  });

  test('timeoutMs also bounds time spent outside the database', async () => {
    const error = await withTransaction(
      pool,
      async (tx) => {
        await new Promise((resolve) => setTimeout(resolve, 600));
        await tx.query('SELECT 1');
      },
      { timeoutMs: 100 },
    ).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'TRANSACTION_TIMEOUT', timeoutMs: 100 });
    expectAllReleased();
  });

  test('a connection that dies mid-transaction is discarded by the pool, not reused', async () => {
    const own = new pg.Pool({
      connectionString: (pool.options as { connectionString: string }).connectionString,
      max: 2,
    });
    own.on('error', () => {});
    const error = await withTransaction(own, async (tx) => {
      await tx.query('SELECT pg_terminate_backend(pg_backend_pid())');
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(own.totalCount).toBe(0);
    expect(await withTransaction(own, async (tx) => (await tx.query('SELECT 1 AS one')).rows[0]?.one)).toBe(1);
    expectAllReleased(own);
    await own.end();
  });

  test('rejects bad options with TypeError before connecting', async () => {
    await expect(withTransaction(pool, async () => {}, { isolation: 'snapshot' as never })).rejects.toBeInstanceOf(
      TypeError,
    );
    await expect(withTransaction(pool, async () => {}, { retries: -1 })).rejects.toBeInstanceOf(TypeError);
    await expect(withTransaction(pool, async () => {}, { timeoutMs: 0 })).rejects.toBeInstanceOf(TypeError);
    await expect(withTransaction({} as never, async () => {})).rejects.toBeInstanceOf(TypeError);
    expectAllReleased();
  });

  test('readOnly refuses writes', async () => {
    const error = await withTransaction(pool, (tx) => tx.query("INSERT INTO items (label) VALUES ('ro')"), {
      readOnly: true,
      isolation: 'repeatable read',
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: '25006' });
  });
});

describe('nesting', () => {
  test('a savepoint that fails is rolled back; the outer work is kept and commits', async () => {
    await withTransaction(pool, async (tx) => {
      await tx.query("INSERT INTO items (label) VALUES ('outer')");
      const error = await tx
        .savepoint(async (inner) => {
          await inner.query("INSERT INTO items (label) VALUES ('inner')");
          await inner.query("INSERT INTO items (label) VALUES ('outer')");
        })
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: '23505' });
      await tx.query("INSERT INTO items (label) VALUES ('after')");
    });
    const { rows } = await pool.query<{ label: string }>(
      "SELECT label FROM items WHERE label IN ('outer', 'inner', 'after') ORDER BY label",
    );
    expect(rows.map((row) => row.label)).toEqual(['after', 'outer']);
  });

  test('withTransaction(tx, fn) becomes a savepoint on the same connection; hooks of a rolled-back one are dropped', async () => {
    const calls: string[] = [];
    await withTransaction(pool, async (tx) => {
      const outerPid = (await tx.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      await withTransaction(tx, async (inner) => {
        expect(inner.depth).toBe(1);
        expect((await inner.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid).toBe(outerPid);
        inner.afterCommit(() => calls.push('kept'));
      });
      await withTransaction(tx, async (inner) => {
        inner.afterCommit(() => calls.push('dropped'));
        inner.afterRollback(() => calls.push('savepoint rolled back'));
        throw new Error('inner');
      }).catch(() => undefined);
      expect(calls).toEqual([]);
    });
    expect(calls).toEqual(['kept', 'savepoint rolled back']);
  });

  test('a serialization failure inside a savepoint retries the whole transaction, not the savepoint', async () => {
    let outer = 0;
    let inner = 0;
    const result = await withTransaction(
      pool,
      async (tx) => {
        outer++;
        await tx
          .savepoint(async (sp) => {
            inner++;
            if (tx.attempt === 1) await sp.query(raise('40001'));
          })
          // Even an application that swallows it cannot commit a doomed attempt.
          .catch(() => undefined);
        return tx.attempt;
      },
      { retries: 2, backoff: { initialMs: 0, maxMs: 0 } },
    );
    expect(result).toBe(2);
    expect([outer, inner]).toEqual([2, 2]);
  });

  test('two savepoints at once on one level are refused', async () => {
    const error = await withTransaction(pool, async (tx) => {
      const first = tx.savepoint(() => tx.query('SELECT pg_sleep(0.05)'));
      const second = tx.savepoint(async () => 1).catch((caught: unknown) => caught);
      await first;
      return second;
    });
    expect(error).toMatchObject({ code: 'CONCURRENT_SAVEPOINT' });
  });
});

describe('createTransactionContext', () => {
  test('an inner call with the same pool joins the ambient transaction as a savepoint', async () => {
    const transactions = createTransactionContext();
    expect(transactions.current()).toBeUndefined();
    const pids = await transactions.withTransaction(pool, async (tx) => {
      expect(transactions.current()).toBe(tx);
      const outerPid = (await tx.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const innerPid = await transactions.withTransaction(pool, async (inner) => {
        expect(inner.depth).toBe(1);
        expect(transactions.current()).toBe(inner);
        await inner.query("INSERT INTO items (label) VALUES ('ambient-inner')");
        return (await inner.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      });
      // Rolled back only with the whole transaction: prove the join by failing the outer one.
      return [outerPid, innerPid];
    });
    expect(pids[0]).toBe(pids[1]);
    expect(transactions.current()).toBeUndefined();
    await transactions
      .withTransaction(pool, async () => {
        await transactions.withTransaction(pool, (inner) => inner.query("INSERT INTO items (label) VALUES ('gone')"));
        throw new Error('outer fails');
      })
      .catch(() => undefined);
    expect((await pool.query("SELECT count(*)::int AS c FROM items WHERE label = 'gone'")).rows[0].c).toBe(0);
  });

  test('without a context, withTransaction(pool) inside a transaction is independent (explicit is the default)', async () => {
    await withTransaction(pool, async (tx) => {
      const outerPid = (await tx.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const otherPid = await withTransaction(
        pool,
        async (other) => (await other.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid,
      );
      expect(otherPid).not.toBe(outerPid);
    });
  });
});
