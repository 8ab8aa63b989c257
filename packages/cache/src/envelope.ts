import { charCodeAt, indexOf, slice, startsWith } from '@switchboard/hot-path';
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

interface Header {
  i: string;
  f: number;
  g: number;
  t: [string, number][];
}

export function decodeEnvelope(raw: string, serializer: Serializer): CacheEntry {
  const newline = indexOf.call(raw, '\n');
  if (newline < 0) throw new Error('cache envelope has no header');
  const header = readHeader(raw, newline) ?? (JSON.parse(slice.call(raw, 0, newline)) as Header);
  if (typeof header.i !== 'string' || !Array.isArray(header.t)) throw new Error('cache envelope header is malformed');
  return {
    id: header.i,
    value: serializer.deserialize(slice.call(raw, newline + 1)),
    freshUntil: header.f,
    graceUntil: header.g,
    tags: header.t,
  };
}

/** The header as `JSON.parse` reads it: the general path, kept for tests. */
export function parseHeaderJson(raw: string, end: number): unknown {
  return JSON.parse(raw.slice(0, end));
}

// Parsed tag lists by their JSON text: most entries carry one of a few lists (the scope tag at
// generation 0, say), so they share one frozen parse instead of a new array pair per read.
const knownTags = new Map<string, [string, number][]>();
const KNOWN_TAGS_MAX = 1_024;
let lastTagsJson = '';
let lastTags: [string, number][] | undefined;

/**
 * The header exactly as `encodeEnvelope` writes it, `{"i":"…","f":…,"g":…,"t":[…]}`, read
 * without a full `JSON.parse`; undefined for anything else (then `JSON.parse` decides). Only
 * accepts what `JSON.parse` would read to the same values.
 */
export function readHeader(raw: string, end: number): Header | undefined {
  if (!startsWith.call(raw, '{"i":"')) return undefined;
  const idEnd = indexOf.call(raw, '"', 6);
  if (idEnd < 0 || idEnd >= end) return undefined;
  for (let at = 6; at < idEnd; at++) {
    const code = charCodeAt.call(raw, at);
    // Escapes and control characters: left to JSON.parse.
    if (code < 0x20 || code === 0x5c) return undefined;
  }
  if (!startsWith.call(raw, '","f":', idEnd)) return undefined;
  // Each number runs up to the text that follows it, found first; then every character
  // between must be a digit.
  const fFrom = idEnd + 6;
  const gAt = indexOf.call(raw, ',"g":', fFrom);
  if (gAt < 0 || gAt >= end) return undefined;
  const f = readInteger(raw, fFrom, gAt);
  const tAt = indexOf.call(raw, ',"t":', gAt + 5);
  if (Number.isNaN(f) || tAt < 0 || tAt >= end) return undefined;
  const g = readInteger(raw, gAt + 5, tAt);
  if (Number.isNaN(g)) return undefined;
  if (charCodeAt.call(raw, end - 1) !== 0x7d /* } */) return undefined;
  const tagsFrom = tAt + 5;
  // The same list as the last entry's (the usual case): compared in place, no copy, no hash.
  if (
    lastTags !== undefined &&
    end - 1 - tagsFrom === lastTagsJson.length &&
    startsWith.call(raw, lastTagsJson, tagsFrom)
  ) {
    return { i: slice.call(raw, 6, idEnd), f, g, t: lastTags };
  }
  const tagsJson = slice.call(raw, tagsFrom, end - 1);
  let t = knownTags.get(tagsJson);
  if (t === undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(tagsJson);
    } catch {
      return undefined;
    }
    if (!Array.isArray(parsed)) return undefined;
    for (const pair of parsed) if (Array.isArray(pair)) Object.freeze(pair);
    t = Object.freeze(parsed) as [string, number][];
    if (knownTags.size >= KNOWN_TAGS_MAX) knownTags.clear();
    knownTags.set(tagsJson, t);
  }
  lastTagsJson = tagsJson;
  lastTags = t;
  return { i: slice.call(raw, 6, idEnd), f, g, t };
}

/**
 * The JSON integer that is exactly `raw[from, to)`, at most 15 digits (exact as a double); NaN
 * for anything else (a fraction, an exponent, a leading zero, a longer number: JSON.parse decides).
 */
function readInteger(raw: string, from: number, to: number): number {
  let at = from;
  const negative = at < to && charCodeAt.call(raw, at) === 0x2d /* - */;
  if (negative) at++;
  const digits = to - at;
  if (digits === 0 || digits > 15 || (digits > 1 && charCodeAt.call(raw, at) === 0x30)) return Number.NaN;
  let value = 0;
  for (; at < to; at++) {
    const digit = charCodeAt.call(raw, at) - 0x30;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}
