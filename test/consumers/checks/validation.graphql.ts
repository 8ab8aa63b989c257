import { strictEqual } from 'node:assert/strict';
import { isValidationError, parseInput, uuidSchema } from '@switchboard/validation';
import { toGraphQLError } from '@switchboard/validation/graphql';

export async function check(): Promise<void> {
  let caught: unknown;
  try {
    parseInput(uuidSchema, 'not a uuid');
  } catch (error) {
    caught = error;
  }
  if (!isValidationError(caught)) throw new Error('parseInput did not throw a ValidationError');
  strictEqual(toGraphQLError(caught).extensions.code, 'BAD_USER_INPUT');
}
