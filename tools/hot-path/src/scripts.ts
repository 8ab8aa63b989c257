import { createHash } from 'node:crypto';

/** A Lua script and its SHA1, the name Redis caches it under. */
export interface LuaScript {
  readonly source: string;
  readonly sha1: string;
}

/** What running a script needs of a client: ioredis's `call` (and its `evalsha`, when present). */
export interface ScriptClient {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  evalsha?(sha1: string, ...args: (string | number)[]): Promise<unknown>;
}

/** A script with its SHA1 computed once, at module load. */
export function defineScript(source: string): LuaScript {
  return { source, sha1: createHash('sha1').update(source).digest('hex') };
}

/** Whether Redis answered that it does not know a script by that SHA1. */
export function isNoScriptError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * Runs scripts by SHA1 (EVALSHA: a 40-byte name instead of the whole source on every call),
 * sending the source with EVAL only when Redis does not know the script: first use, a restart,
 * a failover to a replica that never saw it. EVAL caches it, so the next EVALSHA succeeds.
 * `args` is what follows the SHA1: the number of keys, the keys, then the arguments.
 *
 * ioredis's own `evalsha` is used when the client has one (it skips `call`'s generic argument
 * handling); anything with only `call` works too.
 */
export function scriptRunner(
  client: ScriptClient,
): (script: LuaScript, args: readonly (string | number)[]) => Promise<unknown> {
  const evalsha = typeof client.evalsha === 'function' ? client.evalsha.bind(client) : undefined;
  return (script, args) => {
    const sent = evalsha ? evalsha(script.sha1, ...args) : client.call('EVALSHA', script.sha1, ...args);
    return sent.catch((error: unknown) => {
      if (!isNoScriptError(error)) throw error;
      return client.call('EVAL', script.source, ...args);
    });
  };
}
