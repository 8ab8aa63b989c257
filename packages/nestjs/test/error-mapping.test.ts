import { AuthError } from '@switchboard/auth';
import { InvalidCursorError, NullSortKeyError } from '@switchboard/pagination';
import { RateLimitedError, StoreUnavailableError } from '@switchboard/ratelimit';
import { ForbiddenError } from '@switchboard/rbac';
import { ValidationError } from '@switchboard/validation';
import { beforeAll, describe, expect, test } from 'vitest';
import { clientErrorFor, loadErrorMappers } from '../src/error-mapping.ts';

beforeAll(() => loadErrorMappers());

describe('each package error, answered from its own table', () => {
  test.each([
    [new AuthError('TOKEN_EXPIRED', 'access token expired'), 401, 'UNAUTHENTICATED', { reason: 'TOKEN_EXPIRED' }],
    [new ForbiddenError('message:send', 'chat:c1'), 403, 'FORBIDDEN', { permission: 'message:send', scope: 'chat:c1' }],
    [new RateLimitedError({ retryAfterMs: 1_500, limit: 3 }), 429, 'RATE_LIMITED', { retryAfterMs: 1_500 }],
    // One code, two packages, two answers: each error goes by its class first.
    [new StoreUnavailableError('down'), 503, 'STORE_UNAVAILABLE', {}],
    [new AuthError('STORE_UNAVAILABLE', 'sessions down'), 503, 'SERVICE_UNAVAILABLE', {}],
    [
      new ValidationError([{ path: ['content'], message: 'is required' }]),
      400,
      'BAD_USER_INPUT',
      { issues: [{ path: ['content'], message: 'is required' }] },
    ],
    [new InvalidCursorError('after', 'malformed'), 400, 'BAD_USER_INPUT', { argument: 'after' }],
  ] as const)('%s → %i %s', (error, status, code, extensions) => {
    const mapped = clientErrorFor(error);
    expect(mapped?.status).toBe(status);
    expect(mapped?.body).toMatchObject({ code, ...extensions });
    expect(mapped?.graphql.extensions).toMatchObject({ code, ...extensions, http: { status } });
  });

  test('headers travel to both transports: Retry-After on 429, the Bearer challenge on 401', () => {
    const limited = clientErrorFor(new RateLimitedError({ retryAfterMs: 1_500, limit: 3 }));
    expect(limited?.headers).toEqual({ 'Retry-After': '2' });
    const http = limited?.graphql.extensions.http as { headers: Map<string, string> & Record<string, string> };
    // Apollo Server iterates a Map; graphql-yoga reads own properties: both see the header.
    expect([...http.headers]).toEqual([['Retry-After', '2']]);
    expect(http.headers['Retry-After']).toBe('2');
    expect(clientErrorFor(new AuthError('UNAUTHENTICATED', 'no token'))?.headers).toEqual({
      'WWW-Authenticate': 'Bearer',
    });
  });

  test('a server-side mistake is not turned into a client error; foreign errors are left alone', () => {
    expect(clientErrorFor(new NullSortKeyError('createdAt'))).toBeUndefined();
    expect(clientErrorFor(new Error('boom'))).toBeUndefined();
    expect(clientErrorFor({ code: 'FORBIDDEN' })).toBeUndefined();
  });
});
