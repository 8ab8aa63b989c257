/**
 * @switchboard/rbac: roles scoped to a chat, inheritance, conditions, explainable and cached
 * checks. See the README for what is done.
 * @packageDocumentation
 */

export type { CheckOptions, Explanation } from './decision.ts';
export { RBAC_ERROR_TABLE, type RbacErrorMapping } from './error-table.ts';
export { ForbiddenError, InvalidPolicyError, isRbacError, RbacError, type RbacErrorCode } from './errors.ts';
export type {
  Condition,
  ConditionalPermission,
  ConditionContext,
  Conditions,
  NamedConditionPermission,
  RoleDefinition,
  RoleDefinitions,
} from './policy.ts';
export {
  createRbac,
  type Rbac,
  type RbacCacheOptions,
  type RbacOptions,
  type UserPermissions,
} from './rbac.ts';
export { createMemoryGrantStore, createMemoryRbacBus } from './stores/memory.ts';
export type { Telemetry } from './telemetry.ts';
export type { Grant, GrantStore, RbacBus } from './types.ts';
