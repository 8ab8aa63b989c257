import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LogContext, runWithLogContext } from './context.ts';
import { type RequestIdOptions, requestIdFor, resolveRequestIdOptions } from './request-id.ts';

/** Options of `requestContext` (and of the Fastify plugin, `@switchboard/logging/fastify`). */
export interface RequestContextOptions extends RequestIdOptions {
  /**
   * More context for each request, e.g. `{ clientIp }` or a tenant; it cannot replace the
   * request id. Called once per request, before the rest of the request runs.
   */
  fields?: (request: IncomingMessage) => LogContext;
}

/**
 * Middleware that gives each request a log context carrying its id (`requestId`): `next` and
 * everything it starts, awaits or schedules (later middleware, route handlers, timers, promises
 * left running, a graphql-yoga handler mounted after it) see it through `logContext()`, and every
 * line of a `createLogger` logger written there carries it. The id is the caller's `x-request-id`
 * when it is safe (see `RequestContextOptions.trustIncomingId`), else a new UUID, and is echoed on
 * the response.
 *
 * Works as Express or Connect middleware, and from a plain `node:http` handler (call it with the
 * rest of the handler as `next`). If `fields` throws, `next` gets the error, still in the context.
 *
 * @example
 * const app = express();
 * app.use(requestContext());
 * app.get('/', (req, res) => {
 *   log.info('hello'); // carries http.request.id
 *   res.send('ok');
 * });
 *
 * @example
 * const context = requestContext({ header: 'x-correlation-id' });
 * createServer((req, res) => context(req, res, () => handle(req, res)));
 */
export function requestContext(
  options?: RequestContextOptions,
): (request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void) => void {
  const settings = resolveRequestIdOptions(options, 'requestContext');
  const fields = options?.fields;
  if (fields !== undefined && typeof fields !== 'function') {
    throw new TypeError('requestContext: fields must be a function');
  }
  return (request, response, next) => {
    const requestId = requestIdFor(request.headers[settings.header], settings);
    if (settings.responseHeader && !response.headersSent) response.setHeader(settings.header, requestId);
    let extra: LogContext | undefined;
    let failure: { error: unknown } | undefined;
    if (fields) {
      try {
        extra = fields(request);
      } catch (error) {
        failure = { error };
      }
    }
    const context = extra && typeof extra === 'object' ? { ...extra, requestId } : { requestId };
    runWithLogContext(context, () => (failure ? next(failure.error) : next()));
  };
}
