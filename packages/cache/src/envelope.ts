import type { CacheEntry, Serializer } from './types.ts';

/**
 * How an entry travels to L2: one line of JSON header, a newline, then the serialized value.
 * The header is all the Redis script needs to validate tags (cjson decodes only that line),
 * whatever serializer the value uses.
 */
export function encodeEnvelope(entry: CacheEntry, serializer: Serializer): string {
  const header = { i: entry.id, f: Math.round(entry.freshUntil), g: Math.round(entry.graceUntil), t: entry.tags };
  return `${JSON.stringify(header)}\n${serializer.serialize(entry.value)}`;
}

export function decodeEnvelope(raw: string, serializer: Serializer): CacheEntry {
  const newline = raw.indexOf('\n');
  if (newline < 0) throw new Error('cache envelope has no header');
  const header = JSON.parse(raw.slice(0, newline)) as { i: string; f: number; g: number; t: [string, number][] };
  if (typeof header.i !== 'string' || !Array.isArray(header.t)) throw new Error('cache envelope header is malformed');
  return {
    id: header.i,
    value: serializer.deserialize(raw.slice(newline + 1)),
    freshUntil: header.f,
    graceUntil: header.g,
    tags: header.t,
  };
}
