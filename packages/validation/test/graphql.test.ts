import { GraphQLError } from 'graphql';
import { describe, expect, test } from 'vitest';
import { toGraphQLError, VALIDATION_ERROR_TABLE } from '../src/graphql.ts';
import { ValidationError } from '../src/index.ts';
import { toGraphQLError as deprecatedToGraphQLError } from '../src/yoga.ts';

describe('toGraphQLError (@switchboard/validation/graphql)', () => {
  test('builds BAD_USER_INPUT with every issue and HTTP 400, as the table says', () => {
    const error = toGraphQLError(new ValidationError([{ path: ['a'], message: 'bad' }]));
    expect(error).toBeInstanceOf(GraphQLError);
    expect(error.message).toBe('invalid input: a: bad');
    expect(error.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      issues: [{ path: ['a'], message: 'bad' }],
      http: { status: 400 },
    });
    expect(VALIDATION_ERROR_TABLE.VALIDATION_FAILED).toEqual({ status: 400, graphqlCode: 'BAD_USER_INPUT' });
  });

  test('httpStatus: false leaves the status to the server; from supplies the path', () => {
    const from = new GraphQLError('wrapped', { path: ['sendMessage'] });
    const error = toGraphQLError(new ValidationError([{ path: [], message: 'bad' }]), { from, httpStatus: false });
    expect(error.path).toEqual(['sendMessage']);
    expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', issues: [{ path: [], message: 'bad' }] });
    expect(error.originalError).toBeUndefined();
  });

  test('the deprecated re-export from ./yoga is the same function', () => {
    expect(deprecatedToGraphQLError).toBe(toGraphQLError);
  });
});
