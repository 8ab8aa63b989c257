import { authenticateHttpRequest, checkHttpAuthOptions, type HttpAuthOptions } from '@switchboard/auth';

/** What graphql-ws hands `onConnect`. */
export interface WsConnectContext {
  connectionParams?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * graphql-ws options that authenticate a WebSocket when it connects, from
 * `connectionParams.authorization` (`'Bearer <access token>'`): a missing (unless `optional`),
 * expired or forged token closes the socket with 4403 Forbidden before any operation. Spread
 * them into the driver's `subscriptions['graphql-ws']`; `JwtAuthGuard` then authenticates each
 * operation from the same parameter (an expired token stops new subscriptions).
 *
 * @example
 * GraphQLModule.forRootAsync<ApolloDriverConfig>({
 *   driver: ApolloDriver,
 *   inject: [SWITCHBOARD_AUTH],
 *   useFactory: (auth: Auth) => ({ autoSchemaFile: true, subscriptions: { 'graphql-ws': graphqlWsAuth({ auth }) } }),
 * });
 */
export function graphqlWsAuth(options: HttpAuthOptions): { onConnect(context: WsConnectContext): Promise<boolean> } {
  const settings = checkHttpAuthOptions(options, 'graphqlWsAuth');
  return {
    async onConnect(context) {
      const authorization = context.connectionParams?.authorization;
      const headers = typeof authorization === 'string' ? { authorization } : {};
      try {
        return (await authenticateHttpRequest(headers, settings)).ok;
      } catch {
        // Not an auth error (the verifier itself failed): refuse rather than let it in.
        return false;
      }
    },
  };
}
