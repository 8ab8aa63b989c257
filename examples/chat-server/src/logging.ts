import { AsyncLocalStorage } from 'node:async_hooks';
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import pino, { type DestinationStream, type Logger } from 'pino';

/** The id of the request being served, for every log line written while serving it. */
export const requestScope = new AsyncLocalStorage<{ requestId: string }>();

/** Fields that must never reach a log line, wherever they appear. */
const REDACTED = [
  'password',
  '*.password',
  'input.password',
  'refreshToken',
  '*.refreshToken',
  'accessToken',
  '*.accessToken',
  'deviceToken',
  '*.deviceToken',
  'input.deviceToken',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.headers.authorization',
];

/**
 * The server's pino logger. Lines go to stdout unless `destination` says otherwise (tests
 * collect them).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED, censor: '[redacted]' },
      base: { service: 'chat-server' },
      // A new object per line: pino merges the line's own fields (`err`, ...) into what the
      // mixin returns, so handing it the request's shared scope would carry one line's fields
      // into every later line of the same request.
      mixin: () => {
        const scope = requestScope.getStore();
        return scope ? { requestId: scope.requestId } : {};
      },
    },
    // Written by libuv's threads, not the event loop: pino's default (a synchronous write per
    // line) blocked request handling for every line under load. What is still queued is written
    // out when the process exits (pino flushes its destination on exit).
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * Logs the GraphQL errors a client was answered with, one line each with its `code`: a client's
 * mistake (a validation error, a bad variable, `BAD_USER_INPUT`, a bad token, a refusal) at
 * `info`; a coded error with a 5xx status (the database not answering) at `warn`. Masked server
 * faults are skipped: the error mask logged them already, at `error` with their stack.
 */
export function logGraphQLErrors(
  log: Pick<Logger, 'info' | 'warn'>,
  errors: readonly GraphQLError[],
  transport: 'http' | 'graphql-ws',
): void {
  for (const error of errors) {
    const extensions = error.extensions ?? {};
    if (extensions.unexpected) continue;
    const status = (extensions.http as { status?: unknown } | undefined)?.status;
    const fields = {
      code: typeof extensions.code === 'string' ? extensions.code : null,
      message: error.message,
      transport,
      ...(error.path ? { path: error.path.join('.') } : {}),
    };
    if (typeof status === 'number' && status >= 500) log.warn(fields, 'GraphQL error');
    else log.info(fields, 'GraphQL error');
  }
}

/**
 * One log line per request (method, path, status, duration), and one per GraphQL error in its
 * answer (see `logGraphQLErrors`). Every line written while a request is served carries its
 * `requestId` (see `requestScope`).
 */
export function useRequestLogging(log: Logger): Plugin {
  const started = new WeakMap<Request, number>();
  return {
    onRequest({ request }) {
      started.set(request, performance.now());
    },
    onExecutionResult({ result }) {
      // Subscriptions (a stream) report nothing here; single results and request errors do.
      const errors = result && 'errors' in result ? (result.errors as readonly GraphQLError[] | undefined) : undefined;
      if (errors?.length) logGraphQLErrors(log, errors, 'http');
    },
    onResponse({ request, response }) {
      const at = started.get(request);
      if (at === undefined) return;
      log.info(
        {
          method: request.method,
          path: new URL(request.url).pathname,
          status: response.status,
          ms: Math.round(performance.now() - at),
        },
        'request',
      );
    },
  };
}
