import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { RespError, redisCommand } from '../src/resp.ts';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A fake server that answers any command with the given chunks, written one by one. */
async function fakeRedis(chunks: string[], options: { closeAfter?: boolean } = {}): Promise<number> {
  server = createServer((socket) => {
    socket.once('data', async () => {
      for (const chunk of chunks) {
        socket.write(chunk);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      if (options.closeAfter) socket.end();
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

describe('redisCommand', () => {
  test('assembles a reply split across packets, nested arrays and nulls included', async () => {
    const port = await fakeRedis(['*3\r\n$3\r\nfo', 'o\r\n*2\r\n:4', '2\r\n$-1\r\n+OK\r\n']);
    expect(await redisCommand(port, ['X'])).toEqual(['foo', [42, null], 'OK']);
  });

  test('an error inside an array is an element, not a failure of the command', async () => {
    const port = await fakeRedis(['*2\r\n-ERR inner\r\n:1\r\n']);
    const reply = (await redisCommand(port, ['X'])) as unknown[];
    expect(reply[0]).toBeInstanceOf(RespError);
    expect(reply[1]).toBe(1);
  });

  test('a top-level error reply rejects with its message', async () => {
    const port = await fakeRedis(['-NOSCRIPT No matching script\r\n']);
    await expect(redisCommand(port, ['X'])).rejects.toThrow('NOSCRIPT No matching script');
  });

  test('a connection closed mid-reply says so at once instead of timing out', async () => {
    const port = await fakeRedis(['$10\r\nabc'], { closeAfter: true });
    const startedAt = Date.now();
    await expect(redisCommand(port, ['GET', 'k'], 5_000)).rejects.toThrow(
      /closed the connection before a full reply to GET/,
    );
    expect(Date.now() - startedAt).toBeLessThan(2_000);
  });
});
