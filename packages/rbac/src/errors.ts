/** Every `code` a @switchboard/rbac error can carry. */
export type RbacErrorCode = 'FORBIDDEN' | 'INVALID_POLICY' | 'POLICY_CONFLICT' | 'INVALID_AUDIT_QUERY';

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

const denial = (permission: string, scope: string | undefined) =>
  `not allowed: ${permission}${scope ? ` in ${scope}` : ''}`;

/** A check failed; map to GraphQL `extensions.code = 'FORBIDDEN'` / HTTP 403. */
export class ForbiddenError extends RbacError {
  constructor(
    readonly permission: string,
    readonly scope: string | undefined,
    message = denial(permission, scope),
  ) {
    super('FORBIDDEN', message);
  }
}

const FORBIDDEN_NAME = ForbiddenError.name;

/**
 * The `ForbiddenError` a refusal of `assert` rejects with: the object `new ForbiddenError(permission,
 * scope)` builds (a native error, its prototype, its fields in the same order), made without
 * running the two class constructors. Most of a refusal's cost is capturing the stack, and V8
 * walks every frame above `new.target`'s before it starts recording: here that is this function
 * (its `prototype` is ForbiddenError's), so the walk passes no constructor frames and the stack
 * starts at our caller, as it does with `new`.
 */
export function forbidden(permission: string, scope: string | undefined): ForbiddenError {
  const error: { -readonly [Key in keyof ForbiddenError]: ForbiddenError[Key] } = Reflect.construct(
    Error,
    [denial(permission, scope)],
    forbidden,
  );
  error.code = 'FORBIDDEN';
  error.name = FORBIDDEN_NAME;
  error.permission = permission;
  error.scope = scope;
  return error;
}
forbidden.prototype = ForbiddenError.prototype;

/**
 * The role definitions are wrong (unknown role, cycle, malformed permission, unknown condition):
 * fails `createRbac` at startup, or refuses a runtime change (`defineRole`, `updateRole`,
 * `deleteRole`) before anything is written.
 */
export class InvalidPolicyError extends RbacError {
  constructor(message: string) {
    super('INVALID_POLICY', message);
  }
}

/**
 * A runtime policy change met a policy that moved on: the role's version is not the
 * `expectedVersion` given (someone else changed it first: reload, merge, retry), a role of that
 * name already exists (`defineRole`), or the role is still granted (`deleteRole` without `cascade`).
 */
export class PolicyConflictError extends RbacError {
  constructor(
    readonly role: string,
    message: string,
    /** The role's version when refused (`undefined` when it does not exist). */
    readonly actualVersion?: number,
  ) {
    super('POLICY_CONFLICT', message);
  }
}

/** `auditLog` was asked something it cannot answer: a malformed cursor, `first` out of range, a bad `since`. */
export class InvalidAuditQueryError extends RbacError {
  constructor(message: string) {
    super('INVALID_AUDIT_QUERY', message);
  }
}

export function isRbacError(error: unknown): error is RbacError {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    error instanceof Error &&
    (code === 'FORBIDDEN' || code === 'INVALID_POLICY' || code === 'POLICY_CONFLICT' || code === 'INVALID_AUDIT_QUERY')
  );
}
