/**
 * Which failures mean "this node could not be reached or dropped the connection", as opposed
 * to "the statement failed" (syntax, constraint, permission), which must never be retried.
 */

const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

// admin_shutdown, crash_shutdown, cannot_connect_now (starting up, shutting down, in recovery).
const SHUTDOWN_STATES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03']);

// node-postgres reports a lost or unusable connection with a message and no code.
const DRIVER_MESSAGES =
  /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Client was closed and is not queryable|Query read timeout)/;

/**
 * True when `error` says the node is unreachable or the connection broke: network errors,
 * SQLSTATE class 08 (connection exception), 57P01/57P02/57P03 (shutdown, starting up), and
 * node-postgres' own "Connection terminated" family. A read that fails so may run elsewhere.
 */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || SHUTDOWN_STATES.has(code) || code.startsWith('08')) return true;
  }
  if (DRIVER_MESSAGES.test(error.message)) return true;
  // A connect that failed on several addresses (Node's happy eyeballs) arrives as an AggregateError.
  if (error instanceof AggregateError) return error.errors.some((inner) => isConnectionError(inner));
  return false;
}

/**
 * SQLSTATE 40001 raised by a hot standby: "canceling statement due to conflict with recovery".
 * The node is fine; the same read on another node usually succeeds.
 */
export function isRecoveryConflict(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === '40001';
}
