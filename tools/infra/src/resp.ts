import { createConnection } from 'node:net';
import { InfraError } from './errors.ts';

export type RespValue = string | number | null | RespError | RespValue[];

/** An error reply from Redis (`-ERR ...`). */
export class RespError extends Error {
  override readonly name = 'RespError';
}

/**
 * Sends one command to a Redis server or Sentinel on 127.0.0.1 over a fresh connection and
 * returns the reply (RESP2). Readiness probes and failover checks use this instead of a client
 * library so that no reconnect logic or offline queue can hide what the server answers.
 */
export function redisCommand(port: number, args: string[], timeoutMs = 2_000): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(
      () => finish(new Error(`redis 127.0.0.1:${port} did not answer ${args[0]} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    let done = false;
    const finish = (error: Error | undefined, value?: RespValue) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value ?? null);
    };
    socket.once('error', (error) => finish(error));
    socket.once('close', () =>
      finish(new Error(`redis 127.0.0.1:${port} closed the connection before a full reply to ${args[0]}`)),
    );
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      let parsed: { value: RespValue; next: number } | undefined;
      try {
        parsed = parseReply(buffer, 0);
      } catch (error) {
        finish(error as Error);
        return;
      }
      if (!parsed) return;
      if (parsed.value instanceof RespError) finish(parsed.value);
      else finish(undefined, parsed.value);
    });
    socket.write(encodeCommand(args));
  });
}

function encodeCommand(args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}

/** Parses one reply starting at `offset`; undefined when the buffer does not hold all of it yet. */
export function parseReply(buffer: Buffer, offset: number): { value: RespValue; next: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buffer[offset] ?? 0);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const afterLine = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, next: afterLine };
    case '-':
      return { value: new RespError(line), next: afterLine };
    case ':':
      return { value: Number(line), next: afterLine };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, next: afterLine };
      if (buffer.length < afterLine + length + 2) return undefined;
      return { value: buffer.toString('utf8', afterLine, afterLine + length), next: afterLine + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, next: afterLine };
      const items: RespValue[] = [];
      let next = afterLine;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, next);
        if (!item) return undefined;
        // An error inside an array (EXEC, some SENTINEL replies) is an element, not a failure.
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new InfraError(`unexpected RESP reply type ${JSON.stringify(type)}`);
  }
}

/** Turns a flat `[key, value, key, value, ...]` reply (SENTINEL MASTER, CONFIG GET) into a record. */
export function pairsToRecord(reply: RespValue): Record<string, string> {
  const record: Record<string, string> = {};
  if (!Array.isArray(reply)) return record;
  for (let i = 0; i + 1 < reply.length; i += 2) record[String(reply[i])] = String(reply[i + 1]);
  return record;
}

/** Parses an INFO section into key/value pairs. */
export function parseInfo(reply: RespValue): Record<string, string> {
  const record: Record<string, string> = {};
  for (const line of String(reply).split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) record[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return record;
}
