/**
 * @switchboard/logging/fastify: the request log context for Fastify. Peer: `fastify` (types only).
 * @packageDocumentation
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyPluginCallback } from 'fastify';
import { type LogContext, runWithLogContext } from './context.ts';
import type { RequestContextOptions } from './http.ts';
import { type RequestIdOptions, type RequestIdSettings, requestIdFor, resolveRequestIdOptions } from './request-id.ts';

export type { RequestContextOptions } from './http.ts';

// The ids `fastifyRequestId` handed to Fastify, by raw request: the plugin takes them as they are.
const fastifyIds = new WeakMap<IncomingMessage, string>();

/**
 * A `genReqId` for Fastify that makes Fastify's own `request.id` (and the `reqId` of
 * `request.log`) the same id the log context carries: the caller's safe `x-request-id`, else a new
 * UUID. With it, `fastifyRequestContext` uses `request.id` as it is (its own `header`,
 * `trustIncomingId` and `generateId` then no longer matter); without it, the plugin reads the
 * header itself and `request.id` stays Fastify's counter (`req-1`, ...), which a plugin cannot
 * change once the request exists.
 *
 * @example
 * const app = Fastify({ genReqId: fastifyRequestId() });
 * app.register(fastifyRequestContext);
 */
export function fastifyRequestId(
  options?: Pick<RequestIdOptions, 'header' | 'trustIncomingId' | 'generateId'>,
): (request: IncomingMessage) => string {
  const settings = resolveRequestIdOptions(options, 'fastifyRequestId');
  return (request) => {
    const id = requestIdFor(request.headers[settings.header], settings);
    fastifyIds.set(request, id);
    return id;
  };
}

/**
 * A Fastify plugin giving each request a log context carrying its id (`requestId`): the hooks,
 * the handler and everything they start, await or schedule see it through `logContext()`, and
 * every line of a `createLogger` logger written there carries it. The id is echoed on the reply
 * (`responseHeader`); `fields` is called with Node's request (`request.raw`). See
 * `fastifyRequestId` to make it Fastify's `request.id` too. A graphql-yoga handler on a route
 * keeps the id (`useRequestLogging` reuses it).
 *
 * Not encapsulated (as if wrapped in `fastify-plugin`): it applies to the instance it is
 * registered on and every plugin registered there after it, siblings included. Register it on
 * the root instance, before the routes and hooks that should see the context. Bad options fail
 * `register` / `ready` with a `TypeError`.
 *
 * @example
 * const app = Fastify({ genReqId: fastifyRequestId() });
 * await app.register(fastifyRequestContext, { fields: (req) => ({ clientIp: req.socket.remoteAddress }) });
 * app.get('/', async () => {
 *   log.info('hello'); // carries http.request.id
 *   return 'ok';
 * });
 */
export const fastifyRequestContext: FastifyPluginCallback<RequestContextOptions> = Object.assign(
  ((instance, options, done) => {
    let settings: RequestIdSettings;
    const fields = options.fields;
    try {
      settings = resolveRequestIdOptions(options, 'fastifyRequestContext');
      if (fields !== undefined && typeof fields !== 'function') {
        throw new TypeError('fastifyRequestContext: fields must be a function');
      }
    } catch (error) {
      // Through `done`: Fastify then fails `register` / `ready` with it.
      done(error as Error);
      return;
    }
    instance.addHook('onRequest', (request, reply, next) => {
      const requestId = fastifyIds.get(request.raw) ?? requestIdFor(request.headers[settings.header], settings);
      if (settings.responseHeader) reply.header(settings.header, requestId);
      let extra: LogContext | undefined;
      try {
        extra = fields?.(request.raw);
      } catch (error) {
        runWithLogContext({ requestId }, () => next(error as Error));
        return;
      }
      // Fastify runs the rest of the request (body, later hooks, the handler) from this `next`.
      runWithLogContext(extra && typeof extra === 'object' ? { ...extra, requestId } : { requestId }, () => next());
    });
    done();
  }) satisfies FastifyPluginCallback<RequestContextOptions>,
  {
    // Fastify's convention for a plugin that decorates its parent instead of a child scope.
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: '@switchboard/logging',
  },
);
