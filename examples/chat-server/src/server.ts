import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga } from 'graphql-yoga';
import type { ServerConfig } from './config.ts';
import { schema } from './schema.ts';

export interface RunningServer {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4000/graphql`. */
  url: string;
  /** Stops accepting connections, lets in-flight requests finish (up to `graceMs`), then closes. */
  close(graceMs?: number): Promise<void>;
}

/** Starts the HTTP server; resolves once it listens. */
export async function startServer(config: Pick<ServerConfig, 'port' | 'host'>): Promise<RunningServer> {
  const yoga = createYoga({ schema, graphqlEndpoint: '/graphql', landingPage: false });
  const server = createServer(yoga);
  await listen(server, config);
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}${yoga.graphqlEndpoint}`,
    close: (graceMs = 10_000) => closeGracefully(server, graceMs),
  };
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
