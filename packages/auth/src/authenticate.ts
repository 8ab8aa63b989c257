import { AuthError } from './errors.ts';

/** Anything a framework hands us: a Fetch `Request`, `Headers`, a Node request, or plain headers. */
export type RequestLike =
  | { headers: Headers }
  | Headers
  | { headers: Record<string, string | string[] | undefined> }
  | Record<string, string | string[] | undefined>;

/**
 * The bearer token of a request, or `undefined` when it carries no Authorization header.
 * A header that is present but not `Bearer <token>` is an `INVALID_TOKEN` error.
 */
export function bearerToken(input: RequestLike): string | undefined {
  const header = authorizationHeader(input);
  if (header === undefined || header === '') return undefined;
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  if (!match?.[1]) throw new AuthError('INVALID_TOKEN', 'Authorization header must be "Bearer <token>"');
  return match[1];
}

function isHeadersLike(value: unknown): value is { get(name: string): string | null } {
  return typeof (value as { get?: unknown } | null)?.get === 'function';
}

function authorizationHeader(input: RequestLike): string | undefined {
  // Only an object `.headers` is unwrapped: in a plain headers record, a client-sent header
  // named "headers" must not replace the real ones.
  const inner = (input as { headers?: unknown }).headers;
  const headers = isHeadersLike(input)
    ? input
    : inner !== null && typeof inner === 'object'
      ? (inner as RequestLike)
      : input;
  // Duck-typed: frameworks bring their own Headers class (graphql-yoga's is a ponyfill).
  if (isHeadersLike(headers)) return headers.get('authorization') ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const value = record.authorization ?? record.Authorization;
  // Two Authorization headers are ambiguous: refuse rather than pick one.
  if (Array.isArray(value)) {
    if (value.length > 1) throw new AuthError('INVALID_TOKEN', 'more than one Authorization header');
    return value[0];
  }
  return value;
}
