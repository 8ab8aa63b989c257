import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loopbackAddresses } from '../src/addresses.ts';
import { GraphQLClient } from '../src/graphql-client.ts';
import { runOpenLoop } from '../src/runner.ts';

// A stand-in GraphQL server: answers `data.from` = the client's address, an error for bodies that
// ask for one, and each answer only after 30 ms (a slow server must not slow the schedule down).
let server: Server;
let url: string;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      seen.push(body);
      const answer = body.includes('fail')
        ? { errors: [{ message: 'no', extensions: { code: 'FORBIDDEN' } }] }
        : { data: { from: request.socket.remoteAddress } };
      setTimeout(() => response.end(JSON.stringify(answer)), 30);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe('runOpenLoop', () => {
  test('sends on schedule from each user’s own address, counts GraphQL errors, keeps acks', async () => {
    const addresses = loopbackAddresses(3);
    const run = await runOpenLoop({
      workload: {
        urls: [url],
        tokens: ['a', 'b', 'c', 'd'],
        templates: [0, 1, 2, 3].map((user) => ({
          user,
          url: 0,
          body: JSON.stringify({ query: user === 3 ? 'fail' : 'ok', n: '%N%' }),
          ack: 'from',
        })),
        processes: () => ({ server: [process.pid] }),
      },
      rate: 200,
      durationMs: 1000,
      warmupMs: 200,
      addresses,
      workers: 2,
    });
    // Exactly the schedule: 200/s for 1 s in the window, whatever the server's speed.
    expect(run.requests).toHaveLength(200);
    expect(run.workers).toBe(2);
    const failed = run.requests.filter((request) => request.error !== undefined);
    expect(failed.length).toBeGreaterThan(0);
    expect(new Set(failed.map((request) => request.error))).toEqual(new Set(['graphql FORBIDDEN']));
    const acks = new Set(run.requests.flatMap((request) => (request.ack ? [request.ack] : [])));
    // Users 0, 1, 2 send from 127.0.1.1, .2, .3 (user 3, who only fails, from .1 again).
    expect(acks).toEqual(new Set(addresses));
    for (const request of run.requests) expect(request.latencyMs).toBeGreaterThanOrEqual(29);
    // %N% made every body unique.
    expect(new Set(seen).size).toBe(seen.length);
    expect(run.cpuMs.server).toBeGreaterThan(0);
  });
});

describe('GraphQLClient', () => {
  test('sends from its local address', async () => {
    const client = new GraphQLClient(url, { localAddress: '127.0.5.9' });
    expect(await client.data<{ from: string }>('{ from }')).toEqual({ from: '127.0.5.9' });
    await expect(client.data('fail')).rejects.toThrow('fail: no (FORBIDDEN)');
    await client.close();
  });
});
