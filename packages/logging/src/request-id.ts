import { randomUUID } from 'node:crypto';

/** How a request id is read, made and echoed; shared by the HTTP, Fastify and yoga adapters. */
export interface RequestIdOptions {
  /** The request header carrying a caller's id, and the response header echoing it. @default 'x-request-id' */
  header?: string;
  /**
   * Use the id a caller sent in `header` when it is safe (1 to 128 characters of
   * `A-Z a-z 0-9 . _ - : + / =`); any other value is replaced by a new id. Turn off when the
   * server is reachable without a proxy that sets the header itself. @default true
   */
  trustIncomingId?: boolean;
  /**
   * Makes an id for a request without a usable one. Its ids must be safe ones too (see
   * `trustIncomingId`); one that is not, or a throw, gives a random UUID instead.
   * @default crypto.randomUUID
   */
  generateId?: () => string;
  /** Echo the id on the response, in `header`. @default true */
  responseHeader?: boolean;
}

/** `RequestIdOptions`, checked and completed once. */
export interface RequestIdSettings {
  /** Lower case, as Node presents incoming header names. */
  header: string;
  trustIncomingId: boolean;
  generateId: () => string;
  responseHeader: boolean;
}

// A bounded length and a charset with no whitespace, control characters, quotes or separators: a
// caller's id reaches log lines, response headers and log viewers' queries as it is, so nothing in
// it may forge a line, split a header or smuggle markup.
const SAFE_ID = /^[A-Za-z0-9._:+/=-]{1,128}$/;
// RFC 9110 `token`: what a header name may be.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Whether a caller's id may be used as it is (see `RequestIdOptions.trustIncomingId`). */
export function isSafeRequestId(value: unknown): value is string {
  return typeof value === 'string' && SAFE_ID.test(value);
}

/**
 * Checks `options` (a `TypeError` naming the bad option: `where`, then `path` and the option's
 * name) and fills in the defaults.
 */
export function resolveRequestIdOptions(
  options: RequestIdOptions | undefined,
  where: string,
  path = '',
): RequestIdSettings {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${where}: ${path ? `${path.slice(0, -1)} ` : 'options '}must be an object`);
  }
  const { header = 'x-request-id', trustIncomingId = true, generateId = randomUUID, responseHeader = true } = options;
  if (typeof header !== 'string' || !HEADER_NAME.test(header)) {
    throw new TypeError(
      `${where}: ${path}header must be an HTTP header name, got ${typeof header === 'string' ? JSON.stringify(header) : typeof header}`,
    );
  }
  if (typeof trustIncomingId !== 'boolean') throw new TypeError(`${where}: ${path}trustIncomingId must be a boolean`);
  if (typeof generateId !== 'function') throw new TypeError(`${where}: ${path}generateId must be a function`);
  if (typeof responseHeader !== 'boolean') throw new TypeError(`${where}: ${path}responseHeader must be a boolean`);
  return { header: header.toLowerCase(), trustIncomingId, generateId, responseHeader };
}

/**
 * The id for a request whose `header` holds `incoming` (a Node header value, or a fetch
 * `Headers.get` result): the caller's id when trusted and safe, else a new one.
 */
export function requestIdFor(incoming: string | string[] | null | undefined, settings: RequestIdSettings): string {
  if (settings.trustIncomingId && isSafeRequestId(incoming)) return incoming;
  return newRequestId(settings);
}

/**
 * A new id from `generateId`. A generator that throws, or makes an id that is not a safe one (see
 * `isSafeRequestId`), gets a random UUID instead: a broken generator must not fail the requests.
 */
export function newRequestId(settings: RequestIdSettings): string {
  let id: unknown;
  try {
    id = settings.generateId();
  } catch {
    return randomUUID();
  }
  return isSafeRequestId(id) ? id : randomUUID();
}
