/**
 * @switchboard/rbac: roles, permissions, role inheritance, roles scoped to one chat, and GraphQL guards.
 *
 * Nothing is exported yet: the implementation lands with issue #7.
 * @packageDocumentation
 */
export {};
