/**
 * Every `code` a @switchboard/auth error can carry. `AUTH_ERROR_TABLE` maps each one to an HTTP
 * status and a GraphQL `extensions.code` (`toGraphQLError` from `@switchboard/auth/graphql`).
 */
export type AuthErrorCode =
  | 'UNAUTHENTICATED'
  | 'TOKEN_EXPIRED'
  | 'INVALID_TOKEN'
  | 'INVALID_REFRESH_TOKEN'
  | 'REFRESH_TOKEN_REUSED'
  | 'INVALID_DEVICE_TOKEN'
  | 'SESSION_REVOKED'
  | 'INVALID_KEY'
  | 'BUSY'
  | 'STORE_UNAVAILABLE';

/** The one error class of this package; compare `code`, not the class. */
export class AuthError extends Error {
  constructor(
    readonly code: AuthErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Too much password work (argon2) is already running or queued on this instance; the request
 * was refused at once instead of waiting. `retryAfterMs` is a hint for the client (HTTP
 * `Retry-After`, GraphQL `extensions.retryAfterMs`).
 */
export class AuthBusyError extends AuthError {
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number, message = 'Too many password checks in progress; retry shortly') {
    super('BUSY', message);
    this.retryAfterMs = retryAfterMs;
  }
}

/** Every value of `AuthErrorCode`, in one place so the guard and the error table agree. */
export const AUTH_ERROR_CODES: readonly AuthErrorCode[] = [
  'UNAUTHENTICATED',
  'TOKEN_EXPIRED',
  'INVALID_TOKEN',
  'INVALID_REFRESH_TOKEN',
  'REFRESH_TOKEN_REUSED',
  'INVALID_DEVICE_TOKEN',
  'SESSION_REVOKED',
  'INVALID_KEY',
  'BUSY',
  'STORE_UNAVAILABLE',
];

const CODES = new Set<string>(AUTH_ERROR_CODES);

/** True for errors of this package, also across duplicate installs (checks `code`). */
export function isAuthError(error: unknown): error is AuthError {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && CODES.has(code);
}
