/**
 * @switchboard/rbac: roles scoped to a chat, inheritance, conditions, explainable and cached
 * checks. See the README for what is done.
 * @packageDocumentation
 */

export {
  type AuditAction,
  type AuditContext,
  type AuditEntry,
  type AuditPage,
  type AuditQuery,
  type AuditRecord,
  auditCursor,
  createMemoryAuditLog,
  type MemoryAuditLog,
  type MemoryAuditLogOptions,
} from './audit.ts';
export type { CheckOptions, Explanation } from './decision.ts';
export {
  RBAC_ERROR_TABLE,
  type RbacErrorMapping,
  type RbacErrorResponse,
  rbacErrorResponse,
} from './error-table.ts';
export {
  ForbiddenError,
  InvalidAuditQueryError,
  InvalidPolicyError,
  isRbacError,
  PolicyConflictError,
  RbacError,
  type RbacErrorCode,
} from './errors.ts';
export type {
  Condition,
  ConditionalPermission,
  ConditionContext,
  Conditions,
  NamedConditionPermission,
  RoleDefinition,
  RoleDefinitions,
} from './policy.ts';
export type { DeleteRoleOptions, RoleChangeOptions, RoleInfo } from './policy-runtime.ts';
export {
  createRbac,
  type Rbac,
  type RbacCacheOptions,
  type RbacOptions,
  type UserPermissions,
} from './rbac.ts';
export type { StoredRoleInput } from './stored-policy.ts';
export {
  createMemoryGrantStore,
  createMemoryPolicyStore,
  createMemoryRbacBus,
  type MemoryStoreOptions,
} from './stores/memory.ts';
export type { Telemetry } from './telemetry.ts';
export type {
  Grant,
  GrantStore,
  PolicySnapshot,
  PolicyStore,
  PolicyWrite,
  RbacBus,
  StoredRole,
  StoredRoleDefinition,
} from './types.ts';
