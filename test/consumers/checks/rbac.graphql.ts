import { strictEqual } from 'node:assert/strict';
import { ForbiddenError } from '@switchboard/rbac';
import { toGraphQLError } from '@switchboard/rbac/graphql';

export async function check(): Promise<void> {
  const error = toGraphQLError(new ForbiddenError('chat:rename', 'chat:42'));
  strictEqual(error.extensions.code, 'FORBIDDEN');
}
