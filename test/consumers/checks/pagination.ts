import { deepStrictEqual, ok, strictEqual, throws } from 'node:assert/strict';
import { createPaginator, isPaginationInputError } from '@switchboard/pagination';

export async function check(): Promise<void> {
  const paginator = createPaginator({
    orderBy: [{ field: 'id', column: 'id', direction: 'asc' }],
    secret: 'a consumer test secret, long enough',
  });
  const rows = [{ id: 1 }, { id: 2 }, { id: 3 }];
  const first = paginator.fromArray(rows, { first: 2 });
  deepStrictEqual(
    first.edges.map((edge) => edge.node.id),
    [1, 2],
  );
  ok(first.pageInfo.hasNextPage);
  const after = first.pageInfo.endCursor;
  ok(typeof after === 'string');
  const second = paginator.fromArray(rows, { first: 2, after });
  deepStrictEqual(
    second.edges.map((edge) => edge.node.id),
    [3],
  );
  strictEqual(second.pageInfo.hasNextPage, false);
  throws(() => paginator.fromArray(rows, { first: 2, after: 'forged' }), isPaginationInputError);
}
