import { ok, strictEqual } from 'node:assert/strict';
import { createPaginator } from '@switchboard/pagination';
import { connectionTypeDefs, pageInfoTypeDefs, toGraphQLError } from '@switchboard/pagination/graphql';
import { buildSchema, GraphQLError } from 'graphql';

export async function check(): Promise<void> {
  const schema = buildSchema(
    [pageInfoTypeDefs, connectionTypeDefs('Message'), 'type Message { id: ID! }', 'type Query { ok: Boolean }'].join(
      '\n',
    ),
  );
  ok(schema.getType('MessageConnection'));
  const paginator = createPaginator({ orderBy: [{ field: 'id', column: 'id', direction: 'asc' }] });
  let caught: unknown;
  try {
    paginator.fromArray([{ id: 1 }], { first: 1, after: 'forged' });
  } catch (error) {
    caught = error;
  }
  const mapped = toGraphQLError(caught);
  ok(mapped instanceof GraphQLError);
  strictEqual(mapped.extensions.code, 'BAD_USER_INPUT');
}
