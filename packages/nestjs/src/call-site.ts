/**
 * What a guard, a decorator or the filter needs of a Nest call, whatever carried it: an HTTP
 * route (Express or Fastify platform), a GraphQL resolver over HTTP (Apollo or Yoga driver), or
 * a GraphQL operation over graphql-ws. Nothing of `@nestjs/graphql` is imported: a resolver's
 * arguments are `[root, args, context, info]`.
 */
import type { ArgumentsHost } from '@nestjs/common';
import type { Principal } from '@switchboard/auth';

type Headers = Record<string, string | string[] | undefined>;

/** An HTTP request as both platforms give it (Express `req`, Fastify `request`). */
export interface HttpRequestLike {
  headers: Headers;
  principal?: Principal | null;
  params?: Record<string, unknown>;
  query?: Record<string, unknown>;
  body?: unknown;
  socket?: { remoteAddress?: string };
  raw?: { socket?: { remoteAddress?: string } };
}

/** graphql-ws's per-connection context, which Nest's GraphQL drivers pass as `req` over WebSocket. */
interface WsConnectionLike {
  connectionParams?: Record<string, unknown>;
  extra?: { request?: { socket?: { remoteAddress?: string }; headers?: Headers } };
}

export type CallSite =
  | { kind: 'http'; request: HttpRequestLike; response: unknown }
  | {
      kind: 'graphql';
      args: Record<string, unknown>;
      context: Record<string, unknown> & { principal?: Principal | null };
      /** The HTTP request (GraphQL over HTTP), or undefined over graphql-ws. */
      request: HttpRequestLike | undefined;
      /** The graphql-ws connection (GraphQL over WebSocket), or undefined over HTTP. */
      connection: WsConnectionLike | undefined;
    }
  | { kind: 'other' };

const isWsConnection = (value: unknown): value is WsConnectionLike =>
  value !== null && typeof value === 'object' && 'connectionParams' in value && 'extra' in value;

export function callSiteOf(host: ArgumentsHost): CallSite {
  const type = host.getType<string>();
  if (type === 'http') {
    const http = host.switchToHttp();
    return { kind: 'http', request: http.getRequest<HttpRequestLike>(), response: http.getResponse() };
  }
  if (type === 'graphql') {
    const [, args, context] = host.getArgs() as [unknown, Record<string, unknown>, CallSite & { req?: unknown }];
    const gqlContext = (context ?? {}) as Record<string, unknown>;
    // Apollo and Yoga put the HTTP request on `req` (Yoga also on `request`); over graphql-ws,
    // Nest's default context puts the connection there.
    const carrier = gqlContext.req ?? gqlContext.request;
    const connection = isWsConnection(carrier) ? carrier : undefined;
    const request =
      connection === undefined && carrier !== null && typeof carrier === 'object' && 'headers' in carrier
        ? (carrier as HttpRequestLike)
        : undefined;
    return { kind: 'graphql', args: args ?? {}, context: gqlContext, request, connection };
  }
  return { kind: 'other' };
}

/** The headers authentication reads: the request's, or graphql-ws's `connectionParams.authorization`. */
export function authHeadersOf(site: CallSite): Headers {
  if (site.kind === 'http') return site.request.headers ?? {};
  if (site.kind === 'graphql') {
    if (site.connection) {
      const authorization = site.connection.connectionParams?.authorization;
      return typeof authorization === 'string' ? { authorization } : {};
    }
    return site.request?.headers ?? {};
  }
  return {};
}

/** The principal a `JwtAuthGuard` left on this call (undefined when none ran). */
export function principalOf(site: CallSite): Principal | null | undefined {
  if (site.kind === 'http') return site.request.principal;
  if (site.kind === 'graphql') return site.context.principal ?? site.request?.principal;
  return undefined;
}

export function setPrincipal(site: CallSite, principal: Principal | null): void {
  if (site.kind === 'http') site.request.principal = principal;
  else if (site.kind === 'graphql') {
    site.context.principal = principal;
    if (site.request) site.request.principal = principal;
  }
}

/** The socket peer and `X-Forwarded-For` of the call, for the client address. */
export function addressSourcesOf(site: CallSite): {
  peer: string | undefined;
  forwardedFor: string | string[] | undefined;
} {
  const request =
    site.kind === 'http'
      ? site.request
      : site.kind === 'graphql'
        ? (site.request ?? site.connection?.extra?.request)
        : undefined;
  const socket =
    (request as HttpRequestLike | undefined)?.socket ?? (request as HttpRequestLike | undefined)?.raw?.socket;
  return { peer: socket?.remoteAddress, forwardedFor: request?.headers?.['x-forwarded-for'] };
}

/** Sets response headers on an Express `res` or a Fastify `reply`. */
export function setResponseHeaders(response: unknown, headers: Readonly<Record<string, string>>): void {
  const target = response as {
    setHeader?: (name: string, value: string) => void;
    header?: (name: string, value: string) => void;
  } | null;
  for (const [name, value] of Object.entries(headers)) {
    if (typeof target?.setHeader === 'function') target.setHeader(name, value);
    else if (typeof target?.header === 'function') target.header(name, value);
  }
}
