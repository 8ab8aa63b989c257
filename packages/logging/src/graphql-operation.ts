/**
 * One GraphQL operation as `useRequestLogging` follows it (yoga.ts): its record, how its errors are
 * counted and classified (the client's, or a server fault), and the small shape checks the
 * plugin's hooks share.
 */

import type { SpanLike } from '@switchboard/hot-path';
import { type DocumentNode, GraphQLError, getOperationAST } from 'graphql';
import type { LogContext } from './context.ts';

/** One GraphQL operation being served, from its first hook to its line. */
export interface Operation {
  /** The log context object itself: what resolvers' `setLogContext` calls change. */
  readonly store: LogContext;
  /** Runs `fn` in `store` (not a copy), so each phase of the operation shares one context. */
  readonly run: <R>(fn: () => R) => R;
  /** The operation's span, with `telemetry`. */
  readonly span: SpanLike | undefined;
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

/** How an error of an operation is logged. */
export interface ErrorClass {
  /** What the client is told (`extensions.code`), when it has one. */
  code: string | undefined;
  /**
   * `fault`: a bug or an unplanned failure (what yoga masks: an error that is no GraphQL error
   * anywhere down the chain of `originalError`s, or one already masked, `extensions.unexpected`),
   * logged at `error` with `cause`, the error to show with its stack. `outage`: a coded answer
   * with an HTTP status of 500 or more that the server chose to give (its database not answering,
   * a queue full), at `warn`. `client`: the client's mistake or a refusal (validation, bad
   * variables, coded errors below 500), at `info`.
   */
  kind: 'fault' | 'outage' | 'client';
  cause?: unknown;
}

/**
 * Classifies `error` as the client sees it: through `maskError` first when the server masks its
 * own errors (yoga's `maskedErrors.maskError`), so a refusal the mask turns into a coded error is
 * the client's, not a fault. A masked error that keeps a non-GraphQL error as its `originalError`
 * (never sent to clients) is a fault, logged with that cause.
 */
export function classify(error: unknown, maskError?: MaskError): ErrorClass {
  const seen = maskError ? masked(maskError, error) : error;
  if (!isGraphQLError(seen)) return { code: 'INTERNAL_SERVER_ERROR', kind: 'fault', cause: seen };
  let code: string | undefined;
  let status: number | undefined;
  let unexpected = false;
  let cause: unknown = seen;
  while (isGraphQLError(cause)) {
    const extensions = cause.extensions ?? {};
    if (code === undefined && typeof extensions.code === 'string') code = extensions.code;
    const http = extensions.http as { status?: unknown } | undefined;
    if (status === undefined && typeof http?.status === 'number') status = http.status;
    if (extensions.unexpected === true) unexpected = true;
    if (cause.originalError == null) break;
    cause = cause.originalError;
  }
  if (unexpected) return { code: code ?? 'INTERNAL_SERVER_ERROR', kind: 'fault', cause: seen.originalError ?? seen };
  // Still caused by an error that is no GraphQL error: thrown as is, or kept by the server's mask
  // as the cause of what the client is told (how a mask marks a fault for the log).
  if (!isGraphQLError(cause)) return { code: code ?? 'INTERNAL_SERVER_ERROR', kind: 'fault', cause };
  if (status !== undefined && status >= 500) return { code, kind: code === undefined ? 'fault' : 'outage', cause };
  return { code, kind: 'client' };
}

/** yoga's `maskedErrors.maskError`: the error as the client will see it. */
export type MaskError = (error: unknown, message: string, isDev?: boolean) => Error;

// A mask that throws must not fail the line: classify the error as it is.
function masked(maskError: MaskError, error: unknown): unknown {
  try {
    return maskError(error, 'Unexpected error.');
  } catch {
    return error;
  }
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
