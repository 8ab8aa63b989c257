import { createServer } from 'node:net';

// Ports handed out by this process and not yet released: two servers started in the same
// moment must not be given the same port before either has bound it.
const handedOut = new Set<number>();

/** A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const chosen = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(chosen));
      });
    });
    if (port > 0 && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('could not find a free port on 127.0.0.1');
}

/** Lets a port be handed out again (its server has stopped for good). */
export function releasePort(port: number): void {
  handedOut.delete(port);
}
