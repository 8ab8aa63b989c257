import { GraphQLError } from 'graphql';
import { describe, expect, test } from 'vitest';
import { RATE_LIMIT_ERROR_TABLE, toGraphQLError } from '../src/graphql.ts';
import { RateLimitedError, StoreTimeoutError, StoreUnavailableError } from '../src/index.ts';
import { toGraphQLError as deprecatedToGraphQLError } from '../src/yoga.ts';

describe('toGraphQLError (@switchboard/ratelimit/graphql)', () => {
  test('a refusal is RATE_LIMITED with retryAfterMs, HTTP 429 and Retry-After in whole seconds (rounded up)', () => {
    const error = toGraphQLError(new RateLimitedError({ retryAfterMs: 1_200, limit: 5 }));
    expect(error).toBeInstanceOf(GraphQLError);
    expect(error.extensions).toEqual({
      code: 'RATE_LIMITED',
      retryAfterMs: 1_200,
      http: { status: 429, headers: { 'Retry-After': '2' } },
    });
    const soon = toGraphQLError(new RateLimitedError({ retryAfterMs: 10, limit: 5 }));
    expect(soon.extensions.http).toEqual({ status: 429, headers: { 'Retry-After': '1' } });
  });

  test('store failures keep their code and answer 503, as the table says', () => {
    const unavailable = toGraphQLError(new StoreUnavailableError('redis is down'));
    expect(unavailable.extensions).toEqual({ code: 'STORE_UNAVAILABLE', http: { status: 503 } });
    const timeout = toGraphQLError(new StoreTimeoutError(50));
    expect(timeout.extensions).toEqual({ code: 'STORE_TIMEOUT', http: { status: 503 } });
    for (const [code, mapping] of Object.entries(RATE_LIMIT_ERROR_TABLE)) expect(mapping.graphqlCode).toBe(code);
  });

  test('from: the wrapping error supplies the path', () => {
    const from = new GraphQLError('wrapped', { path: ['sendMessage'] });
    const error = toGraphQLError(new RateLimitedError({ retryAfterMs: 1_000, limit: 1 }), { from });
    expect(error.path).toEqual(['sendMessage']);
    expect(error.originalError).toBeUndefined();
  });

  test('the deprecated re-export from ./yoga is the same function', () => {
    expect(deprecatedToGraphQLError).toBe(toGraphQLError);
  });
});
