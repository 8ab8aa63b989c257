/**
 * @switchboard/pagination/graphql: SDL for Relay connection types, and resolver helpers that
 * turn a bad cursor or a negative `first`/`last` into a GraphQL error with
 * `extensions.code = 'BAD_USER_INPUT'` (never a masked 500). Needs the `graphql` peer.
 * @packageDocumentation
 */
import {
  type FieldNode,
  GraphQLError,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  Kind,
  type SelectionSetNode,
} from 'graphql';
import { paginationErrorResponse } from './error-table.ts';
import { type InvalidCursorError, isPaginationInputError, type PaginationArgumentError } from './errors.ts';

export { PAGINATION_ERROR_TABLE, type PaginationErrorMapping } from './error-table.ts';

/** The Relay `PageInfo` type; declare it once per schema. */
export const pageInfoTypeDefs = /* GraphQL */ `
"Where a page sits in its connection (Relay Cursor Connections)."
type PageInfo {
  "More edges after this page (when paging forward with first)."
  hasNextPage: Boolean!
  "More edges before this page (when paging backward with last)."
  hasPreviousPage: Boolean!
  "Cursor of the first edge; null when the page is empty."
  startCursor: String
  "Cursor of the last edge; null when the page is empty."
  endCursor: String
}
`;

/** The connection arguments, to paste into a field: `messages(${connectionArgsTypeDefs}): MessageConnection!`. */
export const connectionArgsTypeDefs = 'first: Int, after: String, last: Int, before: String';

const TYPE_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** Options of {@link connectionTypeDefs}. */
export interface ConnectionTypeDefsOptions {
  /** Adds `totalCount: Int!` (costly: a count of the whole filtered set; see `wantsTotalCount`). @default false */
  totalCount?: boolean;
  /** @default `${nodeType}Connection` */
  connectionName?: string;
  /** @default `${nodeType}Edge` */
  edgeName?: string;
}

/**
 * SDL for `XConnection` and `XEdge` over node type `X` (add {@link pageInfoTypeDefs} once).
 *
 * @example
 * const typeDefs = [pageInfoTypeDefs, connectionTypeDefs('Message', { totalCount: true }), `
 *   type Chat { messages(${connectionArgsTypeDefs}): MessageConnection! }
 * `];
 */
export function connectionTypeDefs(nodeType: string, options: ConnectionTypeDefsOptions = {}): string {
  const connection = options.connectionName ?? `${nodeType}Connection`;
  const edge = options.edgeName ?? `${nodeType}Edge`;
  for (const name of [nodeType, connection, edge]) {
    if (typeof name !== 'string' || !TYPE_NAME.test(name))
      throw new TypeError(`connectionTypeDefs: "${name}" is not a GraphQL type name`);
  }
  const totalCount = options.totalCount
    ? `
  "Number of ${nodeType} items in the whole list, ignoring pagination. Costly: ask only when shown."
  totalCount: Int!`
    : '';
  return /* GraphQL */ `
"A page of ${nodeType} items (Relay Cursor Connections)."
type ${connection} {
  edges: [${edge}!]!
  pageInfo: PageInfo!${totalCount}
}

"A ${nodeType} and the cursor of its position."
type ${edge} {
  node: ${nodeType}!
  "Opaque: pass it back as after or before."
  cursor: String!
}
`;
}

/** Options of {@link toGraphQLError}. */
export interface ToGraphQLErrorOptions {
  /** The error graphql-js wrapped the pagination error in: supplies `path`, `locations` and source. */
  from?: GraphQLError;
  /**
   * Put the HTTP status in `extensions.http` (graphql-yoga answers with it). `false` leaves the
   * status to the server. @default true
   */
  http?: boolean;
}

/**
 * The GraphQL error for a pagination input error (`InvalidCursorError`,
 * `PaginationArgumentError`), from `PAGINATION_ERROR_TABLE`: `extensions: { code:
 * 'BAD_USER_INPUT', argument }` and HTTP 400. Anything else is returned as it is (a server error
 * stays a server error, for the server's masking).
 */
export function toGraphQLError(
  error: InvalidCursorError | PaginationArgumentError,
  options?: ToGraphQLErrorOptions,
): GraphQLError;
export function toGraphQLError(error: unknown, options?: ToGraphQLErrorOptions): unknown;
export function toGraphQLError(error: unknown, options: ToGraphQLErrorOptions = {}): unknown {
  if (!isPaginationInputError(error)) return error;
  const { status, message, extensions } = paginationErrorResponse(error);
  const { from } = options;
  // No originalError: graphql-yoga masks a GraphQLError that wraps a non-GraphQL error.
  return new GraphQLError(message, {
    ...(from?.nodes ? { nodes: from.nodes } : {}),
    ...(from?.source ? { source: from.source } : {}),
    ...(from?.positions ? { positions: from.positions } : {}),
    ...(from?.path ? { path: from.path } : {}),
    extensions: { ...extensions, ...(options.http === false ? {} : { http: { status } }) },
  });
}

/**
 * Wraps a connection resolver so pagination input errors reach the client as
 * `BAD_USER_INPUT` (graphql-yoga masks any other thrown error as an unexpected one).
 *
 * @example
 * messages: connectionResolver((chat, args, ctx, info) =>
 *   paginator.fromPostgres(ctx.db, { table: 'messages', where: 'chat_id = $1', params: [chat.id] }, args, {
 *     totalCount: wantsTotalCount(info),
 *   })),
 */
export function connectionResolver<Source, Context, Args, Result>(
  resolve: GraphQLFieldResolver<Source, Context, Args, Result | Promise<Result>>,
): GraphQLFieldResolver<Source, Context, Args, Promise<Result>> {
  return async (source, args, context, info) => {
    try {
      return await resolve(source, args, context, info);
    } catch (error) {
      throw toGraphQLError(error);
    }
  };
}

/**
 * Whether the query selects `totalCount` on this connection field (also through fragments),
 * so the count runs only when a client asks for it.
 */
export function wantsTotalCount(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>): boolean {
  const visited = new Set<string>();
  const selects = (selectionSet: SelectionSetNode | undefined): boolean =>
    selectionSet?.selections.some((selection) => {
      if (selection.kind === Kind.FIELD) return selection.name.value === 'totalCount';
      if (selection.kind === Kind.INLINE_FRAGMENT) return selects(selection.selectionSet);
      const name = selection.name.value;
      if (visited.has(name)) return false;
      visited.add(name);
      return selects(info.fragments[name]?.selectionSet);
    }) ?? false;
  return info.fieldNodes.some((node: FieldNode) => selects(node.selectionSet));
}
