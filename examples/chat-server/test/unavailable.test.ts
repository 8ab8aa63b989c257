import { describe, expect, test } from 'vitest';
import { isDatabaseUnavailable } from '../src/db/unavailable.ts';
import { createMaskError } from '../src/graphql/errors.ts';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  test('a database that does not answer in time, or cannot be reached', () => {
    expect(isDatabaseUnavailable(new Error('Query read timeout'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated due to connection timeout'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(withCode('canceling statement due to statement timeout', '57014'))).toBe(true);
    expect(isDatabaseUnavailable(withCode('the database system is starting up', '57P03'))).toBe(true);
    expect(isDatabaseUnavailable(withCode('sorry, too many clients already', '53300'))).toBe(true);
    expect(isDatabaseUnavailable(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: new Error('Query read timeout') }))).toBe(true);
  });

  test('not a bad query, a constraint, or anything else', () => {
    expect(isDatabaseUnavailable(withCode('duplicate key value violates unique constraint', '23505'))).toBe(false);
    expect(isDatabaseUnavailable(withCode('syntax error at or near "SELEC"', '42601'))).toBe(false);
    expect(isDatabaseUnavailable(new Error('something else'))).toBe(false);
    expect(isDatabaseUnavailable('Query read timeout')).toBe(false);
  });
});

describe('createMaskError', () => {
  test('answers DATABASE_UNAVAILABLE with HTTP 503 and Retry-After, not as a server fault (no cause to log)', () => {
    const mask = createMaskError();
    const masked = mask(new Error('Query read timeout'), 'Unexpected error.') as Error & {
      extensions: Record<string, unknown>;
      originalError?: unknown;
    };
    expect(masked.message).toBe('the database is not answering; try again shortly');
    expect(masked.extensions).toEqual({
      code: 'DATABASE_UNAVAILABLE',
      http: { status: 503, headers: { 'retry-after': '1' } },
    });
    // A fault keeps its cause for the operation's line (see createMaskError); an outage does not.
    expect(masked.originalError).toBeUndefined();
  });
});
