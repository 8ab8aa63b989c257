import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An app listening on a free loopback port (tests of HTTP adapters: Express and the like). */
export interface ListeningApp {
  url: string;
  close(): Promise<void>;
}

/**
 * Starts `app` (anything with Express's `listen(port, host)`) on 127.0.0.1 and a free port.
 *
 * @example
 * const served = await listenOnLoopback(app);
 * await fetch(`${served.url}/me`);
 * await served.close();
 */
export async function listenOnLoopback(app: { listen(port: number, host: string): Server }): Promise<ListeningApp> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
