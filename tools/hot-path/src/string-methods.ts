// String methods to call through saved references: `charCodeAt.call(text, i)` instead of
// `text.charCodeAt(i)`.
//
// Why: ioredis and node-redis define a subclass of String (for RESP3 verbatim strings). Once a
// program loads either, V8 turns String.prototype into a slow dictionary-mode object, and every
// `text.method(...)` look-up on any string in the process becomes several times slower: a
// character loop or a header parse on a hot path slows down just because a Redis client was
// imported somewhere. A saved reference skips the look-up and is as fast either way.
//
// Where a regular expression does the job in one call (a "contains no unsafe character" test),
// it is unaffected too and may be simpler; use these where the code needs per-character access.
const methods = String.prototype;

/** `String.prototype.charCodeAt`, saved: call as `charCodeAt.call(text, index)`. */
export const charCodeAt: (this: string, index: number) => number = methods.charCodeAt;
/** `String.prototype.indexOf`, saved: call as `indexOf.call(text, search, from)`. */
export const indexOf: (this: string, search: string, position?: number) => number = methods.indexOf;
/** `String.prototype.slice`, saved: call as `slice.call(text, start, end)`. */
export const slice: (this: string, start?: number, end?: number) => string = methods.slice;
/** `String.prototype.startsWith`, saved: call as `startsWith.call(text, search, from)`. */
export const startsWith: (this: string, search: string, position?: number) => boolean = methods.startsWith;
