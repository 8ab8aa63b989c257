/**
 * @switchboard/auth/fastify: a Fastify 5 plugin that puts the request's principal on
 * `request.principal`. Peer: `fastify` (types only).
 * @packageDocumentation
 */
import type { FastifyPluginCallback } from 'fastify';
import type { Principal } from './access-tokens.ts';
import { authenticateHttpRequest, checkHttpAuthOptions, type HttpAuthOptions } from './http-request-auth.ts';

export type { AuthRefusalBody, RequestVerifier } from './http-request-auth.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `authPlugin`: the caller, `null` in optional mode without a token; absent on routes no `authPlugin` covers. */
    principal?: Principal | null;
  }
}

export interface AuthPluginOptions extends HttpAuthOptions {}

/**
 * An `onRequest` hook that reads `Authorization: Bearer <access token>`, verifies it (a
 * signature check, no I/O) and sets `request.principal`. A refusal answers from the package's
 * error table before the body is read: 401 with `WWW-Authenticate` (RFC 6750) and a JSON body
 * `{ error, code, reason }`. Anything that is not an auth error goes to Fastify's error handler.
 *
 * Not encapsulated (as if wrapped in `fastify-plugin`): it guards the instance it is registered
 * on. Register it on the root for the whole app, or inside a plugin for that plugin's routes
 * (several registrations, e.g. one `optional`, can live side by side). Bad options fail
 * `register` / `ready` with a `TypeError`.
 *
 * @example
 * await app.register(async (api) => {
 *   await api.register(authPlugin, { auth });
 *   api.get('/me', async (request) => ({ userId: request.principal?.userId }));
 * }, { prefix: '/api' });
 */
export const authPlugin: FastifyPluginCallback<AuthPluginOptions> = Object.assign(
  ((instance, options, done) => {
    let settings: Required<HttpAuthOptions>;
    try {
      settings = checkHttpAuthOptions(options, 'authPlugin');
    } catch (error) {
      done(error as Error);
      return;
    }
    if (!instance.hasRequestDecorator('principal')) instance.decorateRequest('principal', null);
    instance.addHook('onRequest', (request, reply, next) => {
      authenticateHttpRequest(request.headers, settings).then((outcome) => {
        if (outcome.ok) {
          request.principal = outcome.principal;
          next();
          return;
        }
        reply.code(outcome.status).headers(outcome.headers).send(outcome.body);
      }, next);
    });
    done();
  }) satisfies FastifyPluginCallback<AuthPluginOptions>,
  {
    // Fastify's convention for a plugin that applies to its parent instead of a child scope.
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: '@switchboard/auth',
  },
);
