import { AuthBusyError, AuthError } from '@switchboard/auth';
import { RateLimitedError } from '@switchboard/ratelimit';
import { createOperationCost } from '@switchboard/ratelimit/yoga';
import { GraphQLError, parse } from 'graphql';
import { describe, expect, test } from 'vitest';
import { DEFAULT_OPERATIONS_PER_MINUTE } from '../src/config.ts';
import { createMaskError } from '../src/graphql/errors.ts';
import { capturingLogger } from './log-lines.ts';

/** What graphql-js hands yoga's mask: the resolver's error wrapped, with the field's path. */
const thrownBy = (error: Error) =>
  new GraphQLError(error.message, { path: ['login'], originalError: error }) as GraphQLError & Error;

const masked = (error: Error) => {
  const logged: object[] = [];
  const result = createMaskError({ error: (object) => logged.push(object) })(thrownBy(error), 'Unexpected error.');
  return { result: result as GraphQLError, logged };
};

const httpOf = (error: GraphQLError) => error.extensions.http as { status: number; headers?: Record<string, string> };

describe('createMaskError: each package answers through its own error table', () => {
  test('auth BUSY: 503, extensions.code BUSY, retryAfterMs and Retry-After in whole seconds', () => {
    const { result, logged } = masked(new AuthBusyError(1_200));
    expect(result.extensions).toMatchObject({ code: 'BUSY', retryAfterMs: 1_200 });
    expect(httpOf(result).status).toBe(503);
    expect(httpOf(result).headers).toMatchObject({ 'Retry-After': '2' });
    expect(result.path).toEqual(['login']);
    expect(logged).toEqual([]);
  });

  test('auth STORE_UNAVAILABLE: 503 with a generic message (the database error stays in the log)', () => {
    const cause = new Error('connect ECONNREFUSED 10.0.0.7:5432');
    const { result } = masked(new AuthError('STORE_UNAVAILABLE', 'session store failed: 10.0.0.7', { cause }));
    expect(result.extensions.code).toBe('SERVICE_UNAVAILABLE');
    expect(result.extensions.reason).toBe('STORE_UNAVAILABLE');
    expect(httpOf(result).status).toBe(503);
    expect(result.message).not.toContain('10.0.0.7');
  });

  test('auth token errors keep their reason: SESSION_REVOKED and REFRESH_TOKEN_REUSED are 401 UNAUTHENTICATED', () => {
    for (const code of ['SESSION_REVOKED', 'REFRESH_TOKEN_REUSED', 'INVALID_REFRESH_TOKEN'] as const) {
      const { result } = masked(new AuthError(code, 'refused'));
      expect(result.extensions, code).toMatchObject({ code: 'UNAUTHENTICATED', reason: code });
      expect(httpOf(result).status, code).toBe(401);
    }
  });

  test('a bad signing key is masked for the client and logged with its cause', () => {
    const { result, logged } = masked(new AuthError('INVALID_KEY', 'key k1 has no private part'));
    expect(result.extensions.code).toBe('INTERNAL_SERVER_ERROR');
    expect(result.message).not.toContain('k1');
    expect(logged).toHaveLength(1);
  });

  test('ratelimit RATE_LIMITED: 429, retryAfterMs and Retry-After, the field path kept', () => {
    const { result } = masked(new RateLimitedError({ retryAfterMs: 2_500, limit: 5 }));
    expect(result.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 2_500 });
    expect(httpOf(result).status).toBe(429);
    expect(httpOf(result).headers).toMatchObject({ 'Retry-After': '3' });
    expect(result.path).toEqual(['login']);
  });
});

describe('OPERATIONS_PER_MINUTE default', () => {
  // What the README says about the default budget, computed with the cost the server charges.
  test('a page of 50 messages costs about 800 points, a small query a few: the default leaves room for both', () => {
    const cost = createOperationCost();
    const page = parse(`query($chatId: ID!) {
      messages(chatId: $chatId, last: 50) {
        edges { cursor node { id seq content createdAt editedAt deleted sender { id username displayName } } }
        pageInfo { hasPreviousPage startCursor }
      }
    }`);
    const pageCost = cost(page, { chatId: 'c' });
    expect(pageCost).toBeGreaterThan(700);
    expect(pageCost).toBeLessThan(900);
    expect(cost(parse('{ me { id username } }'), {})).toBeLessThanOrEqual(3);
    expect(DEFAULT_OPERATIONS_PER_MINUTE / pageCost).toBeGreaterThan(6);
  });
});

describe('log redaction', () => {
  test('a device token never reaches a log line, wherever it appears', () => {
    const { log, lines } = capturingLogger();
    log.info({ deviceToken: 'dt_secret1', input: { deviceToken: 'dt_secret2' } }, 'login');
    expect(JSON.stringify(lines)).not.toContain('dt_secret');
  });
});
