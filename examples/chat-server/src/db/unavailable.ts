/** SQLSTATE classes and codes of a server that cannot serve now (not of a bad query). */
const UNAVAILABLE_STATES = /^(08|53|57P)/;
const TIMED_OUT = '57014';
const UNAVAILABLE_MESSAGES = [
  'Query read timeout',
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'connection timeout',
];
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);

/**
 * Whether `error` (or one of its causes) says PostgreSQL did not answer in time or could not be
 * reached: a statement past `statement_timeout`, no answer within `QUERY_TIMEOUT_MS`, no
 * connection within `CONNECT_TIMEOUT_MS` (both in database.ts), a refused or broken connection,
 * a server shutting down or out of connections. Clients see these as `DATABASE_UNAVAILABLE`
 * (HTTP 503): the request may be tried again.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (
      typeof code === 'string' &&
      (code === TIMED_OUT || UNAVAILABLE_STATES.test(code) || UNAVAILABLE_ERRNOS.has(code))
    ) {
      return true;
    }
    if (UNAVAILABLE_MESSAGES.some((message) => current instanceof Error && current.message.startsWith(message))) {
      return true;
    }
    current = current.cause;
  }
  return false;
}
