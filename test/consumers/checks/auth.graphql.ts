import { strictEqual } from 'node:assert/strict';
import { AuthError } from '@switchboard/auth';
import { toGraphQLError } from '@switchboard/auth/graphql';

export async function check(): Promise<void> {
  const error = toGraphQLError(new AuthError('INVALID_TOKEN', 'bad token'));
  strictEqual(error.extensions.code, 'UNAUTHENTICATED');
}
