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
  const result = createMaskError()(thrownBy(error), 'Unexpected error.') as GraphQLError;
  // A server fault keeps its cause for the operation's log line; a client's answer has none.
  return { result, cause: result.originalError };
};

const httpOf = (error: GraphQLError) => error.extensions.http as { status: number; headers?: Record<string, string> };

describe('createMaskError: each package answers through its own error table', () => {
  test('auth BUSY: 503, extensions.code BUSY, retryAfterMs and Retry-After in whole seconds', () => {
    const { result, cause } = masked(new AuthBusyError(1_200));
    expect(result.extensions).toMatchObject({ code: 'BUSY', retryAfterMs: 1_200 });
    expect(httpOf(result).status).toBe(503);
    expect(httpOf(result).headers).toMatchObject({ 'Retry-After': '2' });
    expect(result.path).toEqual(['login']);
    expect(cause).toBeUndefined();
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

  test('a bad signing key is masked for the client, its cause kept (not sent) for the log line', () => {
    const keyError = new AuthError('INVALID_KEY', 'key k1 has no private part');
    const { result, cause } = masked(keyError);
    expect(result.extensions.code).toBe('INTERNAL_SERVER_ERROR');
    expect(result.message).not.toContain('k1');
    expect(cause).toBe(keyError);
    expect(JSON.stringify(result)).not.toContain('k1');
  });

  test('an unexpected error is masked, its cause kept (not sent); masking it again changes nothing', () => {
    const mask = createMaskError();
    const fault = new Error('connection to 10.0.0.7 refused');
    const once = mask(thrownBy(fault), 'Unexpected error.') as GraphQLError;
    expect(once.message).toBe('Unexpected error.');
    expect(once.extensions).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', unexpected: true });
    expect(once.originalError).toBe(fault);
    expect(JSON.stringify(once)).not.toContain('10.0.0.7');
    // yoga's own mask runs after the one before the logging plugin: the same error comes back.
    expect(mask(once, 'Unexpected error.')).toBe(once);
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

  test('passwords, tokens and authorization headers never reach a log line (the paths the server redacted before)', () => {
    const { log, lines } = capturingLogger();
    log.info(
      { password: 'secret-1', input: { password: 'secret-2', refreshToken: 'secret-3' }, accessToken: 'secret-4' },
      'a',
    );
    log.info(
      { headers: { authorization: 'Bearer secret-5' }, req: { headers: { authorization: 'Bearer secret-6' } } },
      'b',
    );
    log.info({ authorization: 'Bearer secret-7', connectionParams: { authorization: 'Bearer secret-8' } }, 'c');
    log.child({ refreshToken: 'secret-9' }).info('d');
    expect(lines).toHaveLength(4);
    expect(JSON.stringify(lines)).not.toContain('secret-');
  });
});
