import type { Plugin } from 'graphql-yoga';
import pino, { type Logger } from 'pino';
import { requestScope } from './server.ts';

/** Fields that must never reach a log line, wherever they appear. */
const REDACTED = [
  'password',
  '*.password',
  'input.password',
  'refreshToken',
  '*.refreshToken',
  'accessToken',
  '*.accessToken',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.headers.authorization',
];

export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED, censor: '[redacted]' },
      base: { service: 'chat-server' },
      mixin: () => requestScope.getStore() ?? {},
    },
    // Written by libuv's threads, not the event loop: pino's default (a synchronous write per
    // line) blocked request handling for every line under load. What is still queued is written
    // out when the process exits (pino flushes its destination on exit).
    pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * One log line per request (method, path, status, duration). Every line written while a request
 * is served carries its `requestId` (see `requestScope` in server.ts).
 */
export function useRequestLogging(log: Logger): Plugin {
  const started = new WeakMap<Request, number>();
  return {
    onRequest({ request }) {
      started.set(request, performance.now());
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
