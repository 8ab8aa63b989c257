import type { Queryable as AuthQueryable } from '@switchboard/auth/postgres';
import type { DbReader } from '@switchboard/db-router';
import type { Queryable as PaginationQueryable } from '@switchboard/pagination';
import type { Queryable as RbacQueryable } from '@switchboard/rbac/postgres';
import type { Queryable as TxQueryable } from '@switchboard/tx';
import type pg from 'pg';
import { describe, expectTypeOf, test } from 'vitest';

// One client shape across the packages that take a PostgreSQL client: whatever fits one fits
// all (a pg.Pool, a pool client, a transaction's client, a db-router reader).
describe('Queryable', () => {
  test('pg.Pool, pg.PoolClient and a db-router reader fit every package', () => {
    expectTypeOf<pg.Pool>().toExtend<AuthQueryable>();
    expectTypeOf<pg.Pool>().toExtend<PaginationQueryable>();
    expectTypeOf<pg.Pool>().toExtend<RbacQueryable>();
    expectTypeOf<pg.Pool>().toExtend<TxQueryable>();
    expectTypeOf<pg.PoolClient>().toExtend<AuthQueryable>();
    expectTypeOf<pg.PoolClient>().toExtend<PaginationQueryable>();
    expectTypeOf<pg.PoolClient>().toExtend<RbacQueryable>();
    expectTypeOf<pg.PoolClient>().toExtend<TxQueryable>();
    expectTypeOf<DbReader>().toExtend<AuthQueryable>();
    expectTypeOf<DbReader>().toExtend<PaginationQueryable>();
    expectTypeOf<DbReader>().toExtend<RbacQueryable>();
    expectTypeOf<DbReader>().toExtend<TxQueryable>();
  });

  test('is one shape: each package accepts what any other package accepts', () => {
    expectTypeOf<AuthQueryable>().toEqualTypeOf<PaginationQueryable>();
    expectTypeOf<AuthQueryable>().toEqualTypeOf<RbacQueryable>();
    expectTypeOf<AuthQueryable>().toEqualTypeOf<TxQueryable>();
  });
});
