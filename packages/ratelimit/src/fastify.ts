/**
 * @switchboard/ratelimit/fastify: a Fastify 5 plugin that checks a limiter on each request.
 * Peer: `fastify` (types only).
 * @packageDocumentation
 */
import type { FastifyPluginCallback, FastifyRequest } from 'fastify';
import { createHttpRateLimitCheck, type HttpRateLimitOptions, type HttpRateLimitOutcome } from './http-rate-limit.ts';

export type { RateLimitRefusalBody } from './http-rate-limit.ts';

export interface RateLimitPluginOptions extends HttpRateLimitOptions<FastifyRequest> {}

/**
 * An `onRequest` hook consuming from `limiter` for each request, before the body is read.
 * Allowed: `RateLimit` / `RateLimit-Policy` headers (IETF draft) on the reply. Refused: 429 with
 * those headers, `Retry-After`, and a JSON body `{ error, code: 'RATE_LIMITED', retryAfterMs }`;
 * a store failure the limiter's `onStoreError` policy surfaces: 503 from the package's error
 * table. Anything else (a key function that throws, say) goes to Fastify's error handler.
 * `request.ip` honours Fastify's `trustProxy`.
 *
 * Not encapsulated (as if wrapped in `fastify-plugin`): it counts the routes of the instance it
 * is registered on. Register it inside a plugin to limit that plugin's routes; two
 * registrations on one route both count (each with its own limiter). Bad options fail
 * `register` / `ready` with a `TypeError`.
 *
 * @example
 * await app.register(async (messages) => {
 *   await messages.register(rateLimitPlugin, { limiter, key: (request) => ipKey(request.ip) });
 *   messages.post('/messages', send);
 * });
 */
export const rateLimitPlugin: FastifyPluginCallback<RateLimitPluginOptions> = Object.assign(
  ((instance, options, done) => {
    let check: (request: FastifyRequest) => Promise<HttpRateLimitOutcome>;
    try {
      check = createHttpRateLimitCheck(options, 'rateLimitPlugin');
    } catch (error) {
      done(error as Error);
      return;
    }
    instance.addHook('onRequest', (request, reply, next) => {
      check(request).then((outcome) => {
        reply.headers(outcome.headers);
        if (outcome.allowed) {
          next();
          return;
        }
        reply.code(outcome.status).send(outcome.body);
      }, next);
    });
    done();
  }) satisfies FastifyPluginCallback<RateLimitPluginOptions>,
  {
    // Fastify's convention for a plugin that applies to its parent instead of a child scope.
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: '@switchboard/ratelimit',
  },
);
