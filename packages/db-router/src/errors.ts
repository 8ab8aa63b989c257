/** Every `code` a @switchboard/db-router error can carry. */
export type DbRouterErrorCode = 'INVALID_CAUSAL_TOKEN' | 'ROUTER_CLOSED';

/** Base class of this package's errors; `code` is stable, compare it instead of the class. */
export class DbRouterError extends Error {
  constructor(
    readonly code: DbRouterErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A causal token that is not one this package made (corrupted cookie, forged header). Thrown by
 * `parseCausalToken`, and by reads only with `invalidToken: 'throw'`; by default a read with an
 * invalid token goes to the primary instead.
 */
export class InvalidCausalTokenError extends DbRouterError {
  /** The offending value, cut to 64 characters (it may come from an attacker). */
  readonly token: string;
  constructor(token: unknown) {
    const shown = typeof token === 'string' ? token.slice(0, 64) : String(typeof token);
    super('INVALID_CAUSAL_TOKEN', `not a causal token: ${JSON.stringify(shown)}`);
    this.token = shown;
  }
}

/** The router was closed with `close()`; it runs no more queries. */
export class RouterClosedError extends DbRouterError {
  constructor() {
    super('ROUTER_CLOSED', 'the db router is closed');
  }
}

const CODES: ReadonlySet<string> = new Set<DbRouterErrorCode>(['INVALID_CAUSAL_TOKEN', 'ROUTER_CLOSED']);

/** True for any error of this package, also across duplicate installs (checks `code`). */
export function isDbRouterError(error: unknown): error is DbRouterError {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && CODES.has(code);
}
