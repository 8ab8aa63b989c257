/**
 * @switchboard/auth/yoga: a graphql-yoga / envelop plugin that puts the request's principal in
 * the GraphQL context.
 * @packageDocumentation
 */
import type { Plugin } from 'graphql-yoga';
import type { Principal } from './access-tokens.ts';
import type { Auth } from './auth.ts';
import { bearerToken } from './authenticate.ts';
import { AuthError, isAuthError } from './errors.ts';
import { toGraphQLError } from './graphql.ts';

export interface UseAuthOptions {
  auth: Pick<Auth, 'verifyAccessToken'>;
  /** Refuse requests without a token (401 UNAUTHENTICATED). @default false: `principal` is null */
  required?: boolean;
}

/** What the plugin adds to the context. */
export interface AuthContext {
  /** The caller, or `null` for an anonymous request (when not `required`). */
  principal: Principal | null;
}

/**
 * Reads `Authorization: Bearer <access token>`, verifies it (no I/O: a signature check), and
 * extends the context with `principal`. A token that is present but expired or invalid always
 * fails the request with 401, `extensions.code: 'UNAUTHENTICATED'` and `extensions.reason`
 * `TOKEN_EXPIRED` / `INVALID_TOKEN` (the package's error table, see `toGraphQLError`): a bad
 * token is never silently treated as anonymous.
 */
export function useAuth(options: UseAuthOptions): Plugin<AuthContext> {
  return {
    async onContextBuilding({ context, extendContext }) {
      const request = (context as { request?: Request }).request;
      let principal: Principal | null = null;
      try {
        const token = request ? bearerToken(request) : undefined;
        if (token === undefined) {
          if (options.required) throw new AuthError('UNAUTHENTICATED', 'authentication required');
        } else {
          principal = await options.auth.verifyAccessToken(token);
        }
      } catch (error) {
        if (!isAuthError(error)) throw error;
        throw toGraphQLError(error);
      }
      extendContext({ principal });
    },
  };
}
