import { describe, expect, test } from 'vitest';
import { createRedisTokenStore } from '../src/redis.ts';

/** A client with only `call`, that knows no script until one is sent with EVAL. */
function callOnlyClient() {
  const calls: string[] = [];
  let loaded = false;
  return {
    calls,
    client: {
      call: async (command: string) => {
        calls.push(command);
        if (command === 'EVALSHA' && !loaded) throw new Error('NOSCRIPT No matching script.');
        if (command === 'EVAL') loaded = true;
        return 1;
      },
    },
  };
}

describe('createRedisTokenStore with a client that has only `call`', () => {
  test('sends the script by SHA1 and its source only when Redis answers NOSCRIPT', async () => {
    const { client, calls } = callOnlyClient();
    const store = createRedisTokenStore({ client });
    await store.advance('alice', 'v1.10');
    expect(calls).toEqual(['EVALSHA', 'EVAL']);
    await store.advance('alice', 'v1.20');
    expect(calls).toEqual(['EVALSHA', 'EVAL', 'EVALSHA']);
  });

  test('any other error reaches the caller, and the source is not sent', async () => {
    const calls: string[] = [];
    const store = createRedisTokenStore({
      client: {
        call: async (command: string) => {
          calls.push(command);
          throw new Error('READONLY You cannot write against a read only replica.');
        },
      },
    });
    await expect(store.advance('alice', 'v1.10')).rejects.toThrow(/READONLY/);
    expect(calls).toEqual(['EVALSHA']);
  });
});
