import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { requestContext } from '@switchboard/logging';
import { type ExecutionArgs, type FormattedExecutionResult, GraphQLError, type GraphQLFormattedError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createGraphQLError, type YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { ServerConfig } from './config.ts';
import { createWebHandler } from './web.ts';

/** What `startServer` needs: where to listen, and the HTTP-level protections (see `ServerConfig`). */
export interface ServerOptions
  extends Pick<ServerConfig, 'port' | 'host'>,
    Partial<Pick<ServerConfig, 'production' | 'corsOrigins' | 'metricsToken' | 'metricsPort'>> {
  /** The built chat page served at `/` (see web.ts); `false`: none. @default examples/chat-web/dist */
  webRoot?: string | false;
}

export interface RunningServer {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4000/graphql` (graphql-ws on the same path, `ws://`). */
  url: string;
  /** `http://127.0.0.1:<METRICS_PORT>/metrics` when `/metrics` has its own listener, else undefined. */
  metricsUrl: string | undefined;
  /** Stops accepting connections, lets in-flight requests finish (up to `graceMs`), then closes. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Plain HTTP endpoints served beside GraphQL (GET only), e.g. `/ready` and `/metrics`. `/metrics`
 * is served as `metricsAccess` says.
 */
export type Routes = Record<string, (request: IncomingMessage, response: ServerResponse) => Promise<void>>;
type Route = Routes[string];

// biome-ignore lint/suspicious/noExplicitAny: any yoga instance, whatever its contexts.
type AnyYoga = YogaServerInstance<any, any>;

/**
 * Where `/metrics` is served: `'port'` only on its own 127.0.0.1 listener (`METRICS_PORT`, with
 * the bearer token too if `METRICS_TOKEN` is set); `'token'` on the main port to requests with
 * `Authorization: Bearer <METRICS_TOKEN>`; `'open'` on the main port to anyone (development,
 * neither set); `'off'` nowhere (production, neither set: 404).
 */
export type MetricsAccess = 'port' | 'token' | 'open' | 'off';

/** How `/metrics` is served with these settings (see `MetricsAccess`); main.ts's banner says so too. */
export function metricsAccess(
  config: Partial<Pick<ServerConfig, 'production' | 'metricsToken' | 'metricsPort'>>,
): MetricsAccess {
  if (config.metricsPort !== undefined) return 'port';
  if (config.metricsToken !== undefined) return 'token';
  return config.production ? 'off' : 'open';
}

/**
 * Serves yoga over HTTP (queries, mutations, subscriptions over SSE) and graphql-ws on the same
 * path; resolves once it listens. Cross-origin browser access only from `corsOrigins`, for HTTP
 * and WebSocket alike. Every HTTP request runs in a log context (`@switchboard/logging`) carrying
 * its id: the caller's `X-Request-Id` when it is a safe one, else a new UUID, echoed back. Each
 * graphql-ws operation gets its own from yoga's `useRequestLogging` (see app.ts).
 */
export async function startServer(config: ServerOptions, yoga: AnyYoga, routes: Routes = {}): Promise<RunningServer> {
  const allowedOrigins = new Set(config.corsOrigins ?? []);
  const { '/metrics': metrics, ...otherRoutes } = routes;
  const access = metricsAccess(config);
  const metricsRoute = metrics && config.metricsToken ? requireBearer(config.metricsToken, metrics) : metrics;
  const served: Routes = { ...otherRoutes };
  if (metricsRoute && (access === 'open' || access === 'token')) served['/metrics'] = metricsRoute;
  else if (metrics) served['/metrics'] = notFound;

  // Sockets carrying a subscription over SSE: they never finish by themselves, so stopping cuts
  // them (as WebSockets are closed) and their clients reconnect elsewhere, resuming with `after`.
  const streams = new Set<IncomingMessage['socket']>();
  const withRequestId = requestContext();
  const web = config.webRoot === false ? undefined : createWebHandler(config.webRoot);
  const server = createServer((request, response) => {
    if (request.headers.accept?.includes('text/event-stream')) {
      const socket = request.socket;
      streams.add(socket);
      socket.once('close', () => streams.delete(socket));
    }
    withRequestId(request, response, () => {
      if (answerCors(request, response, allowedOrigins)) return;
      const route =
        request.method === 'GET' ? served[new URL(request.url ?? '/', 'http://server').pathname] : undefined;
      if (!route) {
        if (web?.(request, response)) return;
        yoga(request, response);
        return;
      }
      serveRoute(route, request, response);
    });
  });
  // The same bound as an HTTP body (validation's hardening): ws would otherwise buffer 100 MiB.
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 100_000 });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Once upgraded, a socket has no error listener but ours: a reset must not crash the process.
    socket.on('error', () => socket.destroy());
    if (new URL(request.url ?? '/', 'http://server').pathname !== yoga.graphqlEndpoint) {
      refuseUpgrade(socket, 400);
      return;
    }
    if (!upgradeOriginAllowed(request, allowedOrigins)) {
      refuseUpgrade(socket, 403);
      return;
    }
    sockets.handleUpgrade(request, socket, head, (websocket) => sockets.emit('connection', websocket, request));
  });
  serveGraphqlWs(sockets, yoga);
  const metricsServer =
    access === 'port' && metricsRoute ? await startMetricsServer(config.metricsPort ?? 0, metricsRoute) : undefined;
  try {
    await listen(server, config);
  } catch (error) {
    if (metricsServer) await closeGracefully(metricsServer, 0);
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}${yoga.graphqlEndpoint}`,
    metricsUrl: metricsServer ? `http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}/metrics` : undefined,
    close: async (graceMs = 10_000) => {
      for (const socket of sockets.clients) socket.close(1001, 'server stopping');
      for (const socket of streams) socket.destroy();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      await Promise.all([
        closeGracefully(server, graceMs),
        ...(metricsServer ? [closeGracefully(metricsServer, graceMs)] : []),
      ]);
    },
  };
}

/**
 * CORS from the allow-list. An allowed origin gets exactly itself back in
 * `Access-Control-Allow-Origin`; any other origin gets no CORS header at all, so its pages can
 * neither send a preflighted request nor read an answer. Never `*`, never credentials: tokens
 * travel in `Authorization`, not in cookies. Same-origin pages need no CORS header. Returns true
 * when it answered the request (a preflight).
 */
function answerCors(request: IncomingMessage, response: ServerResponse, allowed: ReadonlySet<string>): boolean {
  // The answer depends on Origin: a cache must not hand one origin's answer to another.
  response.setHeader('vary', 'Origin');
  const origin = request.headers.origin;
  const permitted = typeof origin === 'string' && allowed.has(origin);
  if (permitted) {
    response.setHeader('access-control-allow-origin', origin);
    response.setHeader('access-control-expose-headers', 'Retry-After, X-Request-Id');
  }
  if (request.method !== 'OPTIONS' || request.headers['access-control-request-method'] === undefined) return false;
  const requestedHeaders = request.headers['access-control-request-headers'];
  response.writeHead(
    permitted ? 204 : 403,
    permitted
      ? {
          'access-control-allow-methods': 'GET, POST',
          ...(requestedHeaders ? { 'access-control-allow-headers': requestedHeaders } : {}),
          'access-control-max-age': '600',
          'content-length': '0',
        }
      : { 'content-length': '0' },
  );
  response.end();
  return true;
}

/**
 * A browser always sends `Origin` with a WebSocket handshake, and a page may open sockets to any
 * host (no CORS for WebSockets): only the listed origins and the server's own may. Clients that
 * are not browsers send no `Origin` and are let in (their access token still decides the rest).
 */
function upgradeOriginAllowed(request: IncomingMessage, allowed: ReadonlySet<string>): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (allowed.has(origin)) return true;
  const host = request.headers.host;
  if (!host) return false;
  try {
    const page = new URL(origin);
    return page.host === new URL(`${page.protocol}//${host}`).host;
  } catch {
    return false;
  }
}

/** Answers a handshake with a plain HTTP error, before any WebSocket exists. */
function refuseUpgrade(socket: Duplex, status: number): void {
  const body = `${STATUS_CODES[status]}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function serveRoute(route: Route, request: IncomingMessage, response: ServerResponse): void {
  route(request, response).catch(() => {
    if (!response.headersSent) response.writeHead(500);
    response.end();
  });
}

const notFound: Route = async (_request, response) => {
  response.writeHead(404, { 'content-type': 'text/plain' });
  response.end('not found\n');
};

/**
 * Lets through only requests with `Authorization: Bearer <token>`; 401 otherwise. Compared in
 * constant time (digests of equal length), so the answer's timing says nothing about the token.
 */
function requireBearer(token: string, route: Route): Route {
  const expected = createHash('sha256').update(token).digest();
  return async (request, response) => {
    const given = /^Bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
    if (!timingSafeEqual(createHash('sha256').update(given).digest(), expected)) {
      response.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="metrics"' });
      response.end('unauthorized\n');
      return;
    }
    await route(request, response);
  };
}

/** A second listener, on 127.0.0.1 only, serving `/metrics` and nothing else. */
async function startMetricsServer(port: number, metrics: Route): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://server').pathname;
    serveRoute(request.method === 'GET' && path === '/metrics' ? metrics : notFound, request, response);
  });
  await listen(server, { port, host: '127.0.0.1' });
  return server;
}

/**
 * graphql-ws runs each operation through yoga's envelop, so the same plugins apply (auth,
 * limits, hardening, masked errors). The access token travels in `connectionParams`
 * (`{ authorization: 'Bearer …' }`): browsers cannot set headers on a WebSocket.
 *
 * A failing operation (a syntax error, an invalid query, a bad token) is answered with an
 * `error` message for its own id. Nothing throws out of these hooks: graphql-ws answers a thrown
 * error by printing it to stderr and closing the socket, ending every other subscription on it.
 * Logging is yoga's `useRequestLogging` (app.ts): each operation here passes through
 * `getEnveloped`, which gives it its own log context (request id, connection id, user) and its one
 * line, server faults included; nothing here logs a second time.
 */
function serveGraphqlWs(sockets: WebSocketServer, yoga: AnyYoga): void {
  type Root = { execute: (args: ExecutionArgs) => unknown; subscribe: (args: ExecutionArgs) => unknown };
  const settle = async (run: () => unknown) => {
    try {
      return (await run()) as never;
    } catch (error) {
      return { errors: [asGraphQLError(error)] } as never;
    }
  };
  // Every error a client is sent passes here: masked if it is a server fault.
  const present = (errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
    errors.map((error) => forTheWire(maskServerFault(error)));
  useServer(
    {
      execute: (args) => settle(() => (args.rootValue as Root).execute(args as ExecutionArgs)),
      subscribe: (args) => settle(() => (args.rootValue as Root).subscribe(args as ExecutionArgs)),
      onSubscribe: async (ctx, _id, params) => {
        try {
          const authorization = ctx.connectionParams?.authorization;
          const headers = new Headers(typeof authorization === 'string' ? { authorization } : {});
          const request = new Request(`http://localhost${yoga.graphqlEndpoint}`, { method: 'POST', headers });
          const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
            ...ctx,
            req: ctx.extra.request,
            socket: ctx.extra.socket,
            request,
            params,
          });
          const args = {
            schema,
            operationName: params.operationName,
            document: parse(params.query),
            variableValues: params.variables,
            contextValue: await contextFactory(),
            rootValue: { execute, subscribe },
          };
          const errors = validate(args.schema, args.document);
          return errors.length > 0 ? errors : args;
        } catch (error) {
          return [asGraphQLError(error)];
        }
      },
      // An `error` message: the operation's own failure before it ran (syntax, validation, the
      // token), or its stream failing later.
      onError: (_ctx, _id, _payload, errors) => present(errors),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors?.length ? ({ ...result, errors: present(result.errors) } as FormattedExecutionResult) : undefined,
    },
    sockets,
  );
}

function asGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  const cause = error instanceof Error ? error : new Error(String(error));
  return new GraphQLError(cause.message, { originalError: cause });
}

/**
 * Errors yoga's mask already mapped (they carry a `code`) and graphql's own (GraphQL errors all
 * the way down) go out as they are; anything else is a server fault, masked as yoga masks it over
 * HTTP. Not logged here: the operation threw it inside one of its phases, where
 * `useRequestLogging` saw it and logs it once, at `error` with its stack, on the operation's line.
 */
function maskServerFault(error: GraphQLError): GraphQLError {
  if (typeof error.extensions?.code === 'string') return error;
  let cause: unknown = error;
  while (cause instanceof GraphQLError && cause.originalError) cause = cause.originalError;
  if (cause instanceof GraphQLError) return error;
  return createGraphQLError('Unexpected error.', {
    ...(error.path ? { path: error.path } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR', unexpected: true },
  });
}

/** An error as a client sees it over HTTP: without yoga's internal `http` and `unexpected` extensions. */
function forTheWire(error: GraphQLError): GraphQLFormattedError {
  const formatted = error.toJSON();
  if (!formatted.extensions) return formatted;
  const { http: _http, unexpected: _unexpected, ...extensions } = formatted.extensions;
  const { extensions: _all, ...rest } = formatted;
  return Object.keys(extensions).length > 0 ? { ...rest, extensions } : rest;
}

function listen(server: Server, config: Pick<ServerConfig, 'port' | 'host'>): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeGracefully(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    // Idle keep-alive sockets would hold close() open until they time out.
    const forceTimer = setTimeout(() => server.closeAllConnections(), graceMs);
    forceTimer.unref();
    server.close(() => {
      clearTimeout(forceTimer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
