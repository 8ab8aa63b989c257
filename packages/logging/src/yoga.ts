/**
 * @switchboard/logging/yoga: `useRequestLogging` for graphql-yoga: a log context for every
 * operation (HTTP, SSE and each graphql-ws operation) and one line per operation. Peers: `graphql`,
 * `graphql-yoga`.
 * @packageDocumentation
 */
import type { Plugin } from 'graphql-yoga';
import { bindLogContext, currentLogContext, type LogContext, runWithLogContext } from './context.ts';
import {
  classify,
  connectionOf,
  describe,
  isAsyncIterable,
  isDocument,
  name,
  type Operation,
  record,
  recordResult,
  settle,
  upgradeHeader,
} from './graphql-operation.ts';
import { operationSpans } from './operation-spans.ts';
import { newRequestId, requestIdFor, resolveRequestIdOptions } from './request-id.ts';
import type { RequestLoggingOptions } from './request-logging-options.ts';

export type { MaskError } from './graphql-operation.ts';
export type { RequestLoggingTelemetry } from './operation-spans.ts';
export type {
  RequestLoggingLogger,
  RequestLoggingOptions,
  RequestLogMethod,
} from './request-logging-options.ts';

/**
 * A graphql-yoga plugin that gives every GraphQL operation a log context and writes one line per
 * operation.
 *
 * **Context.** An HTTP request keeps the id it already has (`requestContext` or the Fastify plugin
 * ran first), else gets one from `x-request-id` (when safe) or a new UUID, echoed on the response.
 * Each operation runs in its own context with `requestId`, `operationType` and `operationName`:
 * resolvers, work they start without awaiting (timers, promises left running), the events of a
 * subscription streamed over SSE or graphql-ws and their resolvers all see it through
 * `logContext()`, and a `setLogContext({ userId })` anywhere in the operation (context building,
 * a resolver) holds for the rest of it. Each graphql-ws operation (each `subscribe` message) gets
 * its own `requestId`, plus a `connectionId` shared by the operations of one socket (the upgrade
 * request's safe `x-request-id`, else a new one); that needs nothing but the usual graphql-ws
 * wiring, which runs each operation through `yoga.getEnveloped`.
 *
 * **Lines.** One per operation, when it ends (a stream: when it ends, with the number of events
 * sent, `graphql.events`), with dotted field names as `createLogger` writes them:
 * `graphql.operation.type` / `.name`, `graphql.errors.count` / `.codes` (each error's
 * `extensions.code` as the client sees it), `event.duration` (nanoseconds), `event.outcome`
 * (`success` / `failure`), and the context's fields through the logger's mixin. Levels: `error`,
 * with the original error as `err`, for a server fault (an error yoga masks, `extensions.unexpected`,
 * an uncoded error with an HTTP status of 500 or more); `warn` for a coded answer with a status of
 * 500 or more that the server chose to give (its database down: an outage, not a bug, so no stack)
 * and for an operation slower than `slowOperationMs`; `info` for client errors (coded errors below
 * 500, validation errors, bad variables) and for the sampled share of successes. Errors are
 * classified as the client sees them when `maskError` is given. A logger that throws is ignored:
 * logging never fails an operation.
 *
 * Register it before plugins whose own log lines should carry the operation's context.
 *
 * @example
 * const log = createLogger({ serviceName: 'chat' });
 * const yoga = createYoga({
 *   schema,
 *   plugins: [useRequestLogging({ logger: log, sampleRate: 0.1, slowOperationMs: 500 })],
 * });
 */
export function useRequestLogging(options: RequestLoggingOptions): Plugin {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('useRequestLogging: options must be an object with a logger');
  }
  const { logger, sampleRate = 1, slowOperationMs = 1000, maskError } = options;
  const spans = operationSpans(options.telemetry);
  if (maskError !== undefined && typeof maskError !== 'function') {
    throw new TypeError('useRequestLogging: maskError must be a function (yoga maskedErrors.maskError) when given');
  }
  if (
    logger === null ||
    (typeof logger !== 'object' && typeof logger !== 'function') ||
    typeof logger.info !== 'function' ||
    typeof logger.warn !== 'function' ||
    typeof logger.error !== 'function'
  ) {
    throw new TypeError('useRequestLogging: logger must have info, warn and error methods (a pino logger fits)');
  }
  if (logger.debug !== undefined && typeof logger.debug !== 'function') {
    throw new TypeError('useRequestLogging: logger.debug must be a method when present');
  }
  if (typeof sampleRate !== 'number' || !(sampleRate >= 0 && sampleRate <= 1)) {
    throw new TypeError(`useRequestLogging: sampleRate must be a number from 0 to 1, got ${String(sampleRate)}`);
  }
  if (typeof slowOperationMs !== 'number' || !(slowOperationMs >= 0)) {
    throw new TypeError(
      `useRequestLogging: slowOperationMs must be a number of milliseconds, 0 or more, got ${String(slowOperationMs)}`,
    );
  }
  const settings = resolveRequestIdOptions(options.requestId, 'useRequestLogging', 'requestId.');
  const slowNs = slowOperationMs * 1e6;

  // By the object each operation's hooks share: the context graphql-yoga (or graphql-ws wiring)
  // hands to `getEnveloped`, which envelop extends in place into the resolvers' context.
  const operations = new WeakMap<object, Operation>();
  const requestIds = new WeakMap<Request, string>();
  const connectionIds = new WeakMap<object, string>();

  const start = (key: object, fields: LogContext): Operation => {
    const traced = spans?.start();
    const operation = runWithLogContext(fields, (): Operation => {
      const inContext = bindLogContext(<R>(fn: () => R): R => fn());
      return {
        store: currentLogContext() as LogContext,
        run: traced ? inBoth(traced.run, inContext) : inContext,
        span: traced?.span,
        startedAt: process.hrtime.bigint(),
        type: undefined,
        name: undefined,
        errors: [],
        errorCount: 0,
        stream: false,
        events: 0,
        done: false,
      };
    });
    operations.set(key, operation);
    return operation;
  };

  // An operation yoga's HTTP handling did not start: a graphql-ws `subscribe` message, or a direct
  // `getEnveloped` call.
  const fieldsOutsideHttp = (context: object): LogContext => {
    const connection = connectionOf(context);
    if (connection === undefined) {
      const outer = currentLogContext()?.requestId;
      return { requestId: typeof outer === 'string' ? outer : newRequestId(settings) };
    }
    let connectionId = connectionIds.get(connection);
    if (connectionId === undefined) {
      connectionId = requestIdFor(upgradeHeader(connection, context, settings.header), settings);
      connectionIds.set(connection, connectionId);
    }
    // Never the connection's id nor an earlier operation's: each operation on a socket has its own.
    return { requestId: newRequestId(settings), connectionId };
  };

  const finish = (operation: Operation): void => {
    if (operation.done) return;
    operation.done = true;
    let fault: { cause: unknown } | undefined;
    try {
      fault = operation.run(() => writeLine(operation));
    } catch {
      // A logger that throws must not fail the operation it reports on.
    }
    if (operation.span) spans?.end(operation.span, operation.type, operation.name, fault);
  };

  /** Writes the operation's line (unless sampled away); returns its server fault, if any. */
  const writeLine = (operation: Operation): { cause: unknown } | undefined => {
    const durationNs = Number(process.hrtime.bigint() - operation.startedAt);
    const codes = new Set<string>();
    let fault: { cause: unknown } | undefined;
    let outage = false;
    for (const error of operation.errors) {
      const seen = classify(error, maskError);
      if (seen.code !== undefined) codes.add(seen.code);
      if (seen.kind === 'fault') fault ??= { cause: seen.cause };
      else if (seen.kind === 'outage') outage = true;
    }
    const failed = operation.errorCount > 0;
    const slow = operation.type !== 'subscription' && durationNs > slowNs;
    if (!fault && !outage && !slow && !failed && !(sampleRate === 1 || Math.random() < sampleRate)) return fault;
    // Dotted names, as `createLogger` writes the context's own (`graphql.operation.name`, ...).
    const fields: Record<string, unknown> = {};
    if (operation.type !== undefined) fields['graphql.operation.type'] = operation.type;
    if (operation.name !== undefined) fields['graphql.operation.name'] = operation.name;
    if (failed) {
      fields['graphql.errors.count'] = operation.errorCount;
      fields['graphql.errors.codes'] = [...codes];
    }
    if (operation.stream) fields['graphql.events'] = operation.events;
    fields['event.duration'] = durationNs;
    fields['event.outcome'] = failed ? 'failure' : 'success';
    if (fault) {
      fields.err = fault.cause;
      logger.error(fields, 'GraphQL operation failed');
    } else if (outage) {
      logger.warn(fields, 'GraphQL operation answered with a server error');
    } else if (slow) {
      logger.warn(fields, 'slow GraphQL operation');
    } else {
      logger.info(fields, 'GraphQL operation');
    }
    return fault;
  };

  const fail = (operation: Operation, error: unknown): void => {
    record(operation, error);
    finish(operation);
  };

  const observe = <T>(
    operation: Operation,
    result: unknown,
    setResult: (result: AsyncIterableIterator<T>) => void,
  ): void => {
    if (isAsyncIterable(result)) {
      operation.stream = true;
      setResult(follow(operation, result as AsyncIterable<T>));
      if (logger.debug) {
        try {
          operation.run(() => logger.debug?.(describe(operation), 'GraphQL stream started'));
        } catch {
          // As in `finish`: logging never fails the operation.
        }
      }
    } else {
      recordResult(operation, result);
    }
  };

  // Each `next()` of a streamed result runs in the operation's context: graphql-ws and yoga's SSE
  // response pull events from outside any of the operation's hooks, and a subscription's event
  // resolvers run inside `next()`.
  const follow = <T>(operation: Operation, source: AsyncIterable<T>): AsyncIterableIterator<T> => {
    const iterator = source[Symbol.asyncIterator]();
    const stream: AsyncIterableIterator<T> = {
      [Symbol.asyncIterator]: () => stream,
      next: (...args: [] | [unknown]) =>
        operation.run(async () => {
          try {
            const step = await iterator.next(...args);
            if (step.done) finish(operation);
            else {
              operation.events++;
              recordResult(operation, step.value);
            }
            return step;
          } catch (error) {
            fail(operation, error);
            throw error;
          }
        }),
      return: (value?: unknown) =>
        operation.run(async () => {
          try {
            return iterator.return ? await iterator.return(value) : { done: true as const, value: value as never };
          } finally {
            finish(operation);
          }
        }),
      throw: (error?: unknown) =>
        operation.run(async () => {
          try {
            if (iterator.throw) return await iterator.throw(error);
            throw error;
          } finally {
            finish(operation);
          }
        }),
    };
    return stream;
  };

  // Runs one phase of an operation in its context; a throw (or rejection) ends the operation.
  const phase = <R>(context: object, wrapped: () => R, after?: (operation: Operation) => void): R | undefined => {
    const operation = operations.get(context);
    if (operation === undefined) return wrapped();
    return operation.run(() =>
      settle(
        wrapped,
        () => after?.(operation),
        (error) => fail(operation, error),
      ),
    );
  };

  return {
    instrumentation: {
      request({ request }, wrapped) {
        const outer = currentLogContext()?.requestId;
        const requestId =
          typeof outer === 'string' ? outer : requestIdFor(request.headers.get(settings.header), settings);
        requestIds.set(request, requestId);
        return runWithLogContext({ requestId }, wrapped);
      },
      operation({ context, request }, wrapped) {
        const outer = currentLogContext()?.requestId;
        const requestId = requestIds.get(request) ?? (typeof outer === 'string' ? outer : newRequestId(settings));
        const operation = start(context, { requestId });
        return operation.run(() =>
          settle(
            wrapped,
            () => {
              if (!operation.stream) finish(operation);
            },
            (error) => fail(operation, error),
          ),
        );
      },
      init({ context }, wrapped) {
        if (!operations.has(context)) start(context, fieldsOutsideHttp(context));
        phase(context, wrapped);
      },
      parse({ context }, wrapped) {
        phase(context, wrapped);
      },
      validate({ context }, wrapped) {
        phase(context, wrapped, (operation) => {
          // `onValidate` below kept the errors; by now every plugin has added its code to them.
          if (operation.errorCount > 0) finish(operation);
        });
      },
      // Context building's own failures arrive through the handler registered in `onPluginInit`.
      context({ context }, wrapped) {
        phase(context, wrapped);
      },
      execute({ context }, wrapped) {
        return phase(context, wrapped, (operation) => {
          if (!operation.stream) finish(operation);
        });
      },
      subscribe({ context }, wrapped) {
        return phase(context, wrapped, (operation) => {
          if (!operation.stream) finish(operation);
        });
      },
    },
    onPluginInit({ registerContextErrorHandler }) {
      registerContextErrorHandler(({ context, error }) => {
        const operation = operations.get(context);
        if (operation) fail(operation, error);
      });
    },
    onParse({ context }) {
      const operation = operations.get(context);
      if (operation === undefined) return;
      return ({ result }) => {
        if (isDocument(result)) name(operation, result, (context as { params?: { operationName?: unknown } }).params);
      };
    },
    onValidate({ context }) {
      const operation = operations.get(context);
      if (operation === undefined) return;
      return ({ valid, result }) => {
        if (!valid) for (const error of result) record(operation, error);
      };
    },
    onExecute({ args, context }) {
      const operation = operations.get(context);
      if (operation === undefined) return;
      name(operation, args.document, args);
      return { onExecuteDone: ({ result, setResult }) => observe(operation, result, setResult) };
    },
    onSubscribe({ args, context }) {
      const operation = operations.get(context);
      if (operation === undefined) return;
      name(operation, args.document, args);
      return { onSubscribeResult: ({ result, setResult }) => observe(operation, result, setResult) };
    },
    // Only for operations that ended before any phase above saw an error (a plugin answering in
    // `onParams`, say): the errors as answered.
    onExecutionResult({ result, context }) {
      const operation = operations.get(context);
      if (operation === undefined || operation.done || operation.errorCount > 0) return;
      if (!isAsyncIterable(result)) recordResult(operation, result);
    },
    onResponse({ request, response }) {
      if (!settings.responseHeader) return;
      const requestId = requestIds.get(request);
      if (requestId === undefined) return;
      try {
        response.headers.set(settings.header, requestId);
      } catch {
        // Immutable headers (a `Response.redirect`, say): the id is only missing from this answer.
      }
    },
  };
}

/** Runs `fn` in the operation's span and in its log context. */
function inBoth(inSpan: <R>(fn: () => R) => R, inContext: <R>(fn: () => R) => R): <R>(fn: () => R) => R {
  return (fn) => inSpan(() => inContext(fn));
}
