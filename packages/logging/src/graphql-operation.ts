/**
 * One GraphQL operation as `useRequestLogging` follows it (yoga.ts): its record, how its errors are
 * counted and classified (the client's, or a server fault), and the small shape checks the
 * plugin's hooks share.
 */
import { type DocumentNode, GraphQLError, getOperationAST } from 'graphql';
import type { LogContext } from './context.ts';

/** One GraphQL operation being served, from its first hook to its line. */
export interface Operation {
  /** The log context object itself: what resolvers' `setLogContext` calls change. */
  readonly store: LogContext;
  /** Runs `fn` in `store` (not a copy), so each phase of the operation shares one context. */
  readonly run: <R>(fn: () => R) => R;
  readonly startedAt: bigint;
  type: string | undefined;
  name: string | undefined;
  /** The first errors met, as thrown (before yoga masks them); `errorCount` counts them all. */
  readonly errors: unknown[];
  errorCount: number;
  /** Its result is a stream (a subscription, or `@defer` / `@stream`): the line waits for its end. */
  stream: boolean;
  events: number;
  done: boolean;
}

// A long subscription can fail many times: keep a few errors to classify, count the rest.
export const KEPT_ERRORS = 20;

export function record(operation: Operation, error: unknown): void {
  operation.errorCount++;
  if (operation.errors.length < KEPT_ERRORS) operation.errors.push(error);
}

export function recordResult(operation: Operation, result: unknown): void {
  const errors = (result as { errors?: unknown } | null | undefined)?.errors;
  if (Array.isArray(errors)) for (const error of errors) record(operation, error);
}

export function name(
  operation: Operation,
  document: DocumentNode,
  params: { operationName?: unknown } | undefined,
): void {
  const requested = typeof params?.operationName === 'string' ? params.operationName : undefined;
  const definition = getOperationAST(document, requested);
  if (!definition) return;
  operation.type = definition.operation;
  operation.store.operationType = definition.operation;
  operation.name = definition.name?.value;
  if (operation.name !== undefined) operation.store.operationName = operation.name;
}

export function describe(operation: Operation): Record<string, string> {
  return {
    ...(operation.type !== undefined ? { 'graphql.operation.type': operation.type } : {}),
    ...(operation.name !== undefined ? { 'graphql.operation.name': operation.name } : {}),
  };
}

/**
 * What the client is told (`code`) and, for a server fault, the error to log with its stack. A
 * fault is what yoga masks (an error thrown that is no GraphQL error, anywhere down the chain of
 * `originalError`s), an error already masked (`extensions.unexpected`) or one with an HTTP status
 * of 500 or more; anything else is the client's (validation, bad variables, coded refusals).
 */
export function classify(error: unknown): { code: string | undefined; serverFault: { error: unknown } | undefined } {
  if (!isGraphQLError(error)) return { code: 'INTERNAL_SERVER_ERROR', serverFault: { error } };
  let code: string | undefined;
  let status: number | undefined;
  let unexpected = false;
  let cause: unknown = error;
  while (isGraphQLError(cause)) {
    const extensions = cause.extensions ?? {};
    if (code === undefined && typeof extensions.code === 'string') code = extensions.code;
    const http = extensions.http as { status?: unknown } | undefined;
    if (status === undefined && typeof http?.status === 'number') status = http.status;
    if (extensions.unexpected === true) unexpected = true;
    if (cause.originalError == null) break;
    cause = cause.originalError;
  }
  if (!isGraphQLError(cause)) return { code: code ?? 'INTERNAL_SERVER_ERROR', serverFault: { error: cause } };
  if (unexpected)
    return { code: code ?? 'INTERNAL_SERVER_ERROR', serverFault: { error: error.originalError ?? error } };
  if (status !== undefined && status >= 500) return { code, serverFault: { error: cause } };
  return { code, serverFault: undefined };
}

// By shape too: a second copy of `graphql` (two installs) makes errors that fail `instanceof`.
export function isGraphQLError(value: unknown): value is GraphQLError {
  return (
    value instanceof GraphQLError ||
    (value instanceof Error && value.name === 'GraphQLError' && typeof (value as GraphQLError).extensions === 'object')
  );
}

export function isDocument(value: unknown): value is DocumentNode {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Document';
}

export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

/**
 * The connection a graphql-ws operation came on: graphql-ws's `extra` (one object per socket,
 * `{ socket, request }` with `graphql-ws/use/ws`) when the wiring passes it on, else the socket.
 */
export function connectionOf(context: object): object | undefined {
  const { extra, socket } = context as { extra?: unknown; socket?: unknown };
  if (typeof extra === 'object' && extra !== null) return extra;
  if (typeof socket === 'object' && socket !== null) return socket;
  return undefined;
}

export function upgradeHeader(
  connection: object,
  context: object,
  header: string,
): string | string[] | null | undefined {
  const request = (connection as { request?: unknown }).request ?? (context as { req?: unknown }).req;
  const headers = (request as { headers?: unknown } | undefined)?.headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(header);
  return (headers as Record<string, string | string[] | undefined>)[header];
}

/** `run()`, then `onDone` or `onError` once it settles, synchronously when it is synchronous. */
export function settle<R>(run: () => R, onDone: () => void, onError: (error: unknown) => void): R {
  let result: R;
  try {
    result = run();
  } catch (error) {
    onError(error);
    throw error;
  }
  if (typeof (result as PromiseLike<unknown> | undefined)?.then !== 'function') {
    onDone();
    return result;
  }
  return (result as PromiseLike<unknown>).then(
    (value) => {
      onDone();
      return value;
    },
    (error: unknown) => {
      onError(error);
      throw error;
    },
  ) as R;
}
