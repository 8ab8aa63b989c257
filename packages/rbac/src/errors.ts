/** Every `code` a @switchboard/rbac error can carry. */
export type RbacErrorCode = 'FORBIDDEN' | 'INVALID_POLICY';

/** Base class of this package's errors; compare `code`, not the class. */
export class RbacError extends Error {
  constructor(
    readonly code: RbacErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A check failed; map to GraphQL `extensions.code = 'FORBIDDEN'` / HTTP 403. */
export class ForbiddenError extends RbacError {
  constructor(
    readonly permission: string,
    readonly scope: string | undefined,
    message = `not allowed: ${permission}${scope ? ` in ${scope}` : ''}`,
  ) {
    super('FORBIDDEN', message);
  }
}

/** The role definitions are wrong (unknown role, cycle, malformed permission): fails at startup. */
export class InvalidPolicyError extends RbacError {
  constructor(message: string) {
    super('INVALID_POLICY', message);
  }
}

export function isRbacError(error: unknown): error is RbacError {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && (code === 'FORBIDDEN' || code === 'INVALID_POLICY');
}
