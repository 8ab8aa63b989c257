import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { ServerConfig } from './config.ts';

export interface RunningServer {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4000/graphql` (graphql-ws on the same path, `ws://`). */
  url: string;
  /** Stops accepting connections, lets in-flight requests finish (up to `graceMs`), then closes. */
  close(graceMs?: number): Promise<void>;
}

/** Plain HTTP endpoints served beside GraphQL (GET only), e.g. `/ready` and `/metrics`. */
export type Routes = Record<string, (request: IncomingMessage, response: ServerResponse) => Promise<void>>;

/** The id of the request being served, for every log line written while serving it. */
export const requestScope = new AsyncLocalStorage<{ requestId: string }>();
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

// biome-ignore lint/suspicious/noExplicitAny: any yoga instance, whatever its contexts.
type AnyYoga = YogaServerInstance<any, any>;

/**
 * Serves yoga over HTTP (queries, mutations, subscriptions over SSE) and graphql-ws on the same
 * path; resolves once it listens.
 */
export async function startServer(
  config: Pick<ServerConfig, 'port' | 'host'>,
  yoga: AnyYoga,
  routes: Routes = {},
): Promise<RunningServer> {
  // Sockets carrying a subscription over SSE: they never finish by themselves, so stopping cuts
  // them (as WebSockets are closed) and their clients reconnect elsewhere, resuming with `after`.
  const streams = new Set<IncomingMessage['socket']>();
  const server = createServer((request, response) => {
    if (request.headers.accept?.includes('text/event-stream')) {
      const socket = request.socket;
      streams.add(socket);
      socket.once('close', () => streams.delete(socket));
    }
    const given = request.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    response.setHeader('x-request-id', requestId);
    const route = request.method === 'GET' ? routes[new URL(request.url ?? '/', 'http://server').pathname] : undefined;
    requestScope.run({ requestId }, () => {
      if (!route) {
        yoga(request, response);
        return;
      }
      route(request, response).catch(() => {
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
    });
  });
  // The same bound as an HTTP body (validation's hardening): ws would otherwise buffer 100 MiB.
  const sockets = new WebSocketServer({ server, path: yoga.graphqlEndpoint, maxPayload: 100_000 });
  serveGraphqlWs(sockets, yoga);
  await listen(server, config);
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}${yoga.graphqlEndpoint}`,
    close: async (graceMs = 10_000) => {
      for (const socket of sockets.clients) socket.close(1001, 'server stopping');
      for (const socket of streams) socket.destroy();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      await closeGracefully(server, graceMs);
    },
  };
}

/**
 * graphql-ws runs each operation through yoga's envelop, so the same plugins apply (auth,
 * limits, hardening, masked errors). The access token travels in `connectionParams`
 * (`{ authorization: 'Bearer …' }`): browsers cannot set headers on a WebSocket.
 */
function serveGraphqlWs(sockets: WebSocketServer, yoga: AnyYoga): void {
  type Root = { execute: (args: ExecutionArgs) => unknown; subscribe: (args: ExecutionArgs) => unknown };
  useServer(
    {
      execute: (args) => (args.rootValue as Root).execute(args as ExecutionArgs) as never,
      subscribe: (args) => (args.rootValue as Root).subscribe(args as ExecutionArgs) as never,
      onSubscribe: async (ctx, _id, params) => {
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
      },
    },
    sockets,
  );
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
