import type { RoleDefinitions } from '@switchboard/rbac';

/** The benchmarks' policy: reader < member < moderator < admin by inheritance. */
export const roles = {
  reader: { permissions: ['message:read', 'chat:read'] },
  member: { inherits: ['reader'], permissions: ['message:send'] },
  moderator: { inherits: ['member'], permissions: ['message:delete'] },
  admin: { inherits: ['moderator'], permissions: ['chat:*'] },
} satisfies RoleDefinitions;

/**
 * `[resource, action, scope]` for a user who is admin of chat:1 and member of chat:2: allowed,
 * allowed, refused, refused.
 */
export const checks: [string, string, string][] = [
  ['chat', 'rename', 'chat:1'],
  ['message', 'send', 'chat:2'],
  ['chat', 'rename', 'chat:2'],
  ['message', 'delete', 'chat:3'],
];
