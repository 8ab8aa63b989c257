import { GraphQLError } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, test } from 'vitest';
import { AUTH_ERROR_CODES } from '../src/errors.ts';
import { toGraphQLError } from '../src/graphql.ts';
import {
  AUTH_ERROR_TABLE,
  AuthBusyError,
  AuthError,
  type AuthErrorCode,
  authErrorResponse,
  isAuthError,
} from '../src/index.ts';
import { type AuthContext, useAuth } from '../src/yoga.ts';

// The contract, written out once more by hand: a change to the table must change this too.
const DOCUMENTED: Record<AuthErrorCode, { status: number; code: string; reason?: string; challenge?: string }> = {
  UNAUTHENTICATED: { status: 401, code: 'UNAUTHENTICATED', challenge: 'Bearer' },
  TOKEN_EXPIRED: {
    status: 401,
    code: 'UNAUTHENTICATED',
    reason: 'TOKEN_EXPIRED',
    challenge: 'Bearer error="invalid_token"',
  },
  INVALID_TOKEN: {
    status: 401,
    code: 'UNAUTHENTICATED',
    reason: 'INVALID_TOKEN',
    challenge: 'Bearer error="invalid_token"',
  },
  SESSION_REVOKED: {
    status: 401,
    code: 'UNAUTHENTICATED',
    reason: 'SESSION_REVOKED',
    challenge: 'Bearer error="invalid_token"',
  },
  INVALID_REFRESH_TOKEN: { status: 401, code: 'UNAUTHENTICATED', reason: 'INVALID_REFRESH_TOKEN', challenge: 'Bearer' },
  REFRESH_TOKEN_REUSED: { status: 401, code: 'UNAUTHENTICATED', reason: 'REFRESH_TOKEN_REUSED', challenge: 'Bearer' },
  INVALID_DEVICE_TOKEN: { status: 401, code: 'UNAUTHENTICATED', reason: 'INVALID_DEVICE_TOKEN', challenge: 'Bearer' },
  BUSY: { status: 503, code: 'BUSY' },
  STORE_UNAVAILABLE: { status: 503, code: 'SERVICE_UNAVAILABLE', reason: 'STORE_UNAVAILABLE' },
  INVALID_KEY: { status: 500, code: 'INTERNAL_SERVER_ERROR' },
};

describe('the auth error table', () => {
  test('every AuthErrorCode has a row, and each row is as documented', () => {
    expect(Object.keys(AUTH_ERROR_TABLE).sort()).toEqual([...AUTH_ERROR_CODES].sort());
    for (const code of AUTH_ERROR_CODES) {
      const expected = DOCUMENTED[code];
      const error = code === 'BUSY' ? new AuthBusyError(2_500) : new AuthError(code, `test ${code}`);
      expect(isAuthError(error)).toBe(true);
      const response = authErrorResponse(error);
      expect(response.status, code).toBe(expected.status);
      expect(response.extensions.code, code).toBe(expected.code);
      expect(response.extensions.reason, code).toBe(expected.reason);
      expect(response.headers['WWW-Authenticate'], code).toBe(expected.challenge);

      const graphql = toGraphQLError(error);
      expect(graphql).toBeInstanceOf(GraphQLError);
      expect(graphql.extensions, code).toMatchObject({
        code: expected.code,
        http: { status: expected.status, headers: response.headers },
      });
      expect(graphql.extensions.reason, code).toBe(expected.reason);
    }
  });

  test('BUSY is 503 with Retry-After in whole seconds (rounded up) and retryAfterMs', () => {
    const graphql = toGraphQLError(new AuthBusyError(2_500));
    expect(graphql.extensions).toEqual({
      code: 'BUSY',
      retryAfterMs: 2_500,
      http: { status: 503, headers: { 'Retry-After': '3' } },
    });
    // A bare AuthError('BUSY') from another copy of the package still gets a usable hint.
    expect(authErrorResponse(new AuthError('BUSY', 'busy')).headers).toEqual({ 'Retry-After': '1' });
  });

  test('server-side failures keep their details out of the client message', () => {
    const cause = new Error('connect ECONNREFUSED 10.0.0.5:5432');
    const store = toGraphQLError(new AuthError('STORE_UNAVAILABLE', 'PostgreSQL session store failed', { cause }));
    expect(store.message).not.toMatch(/PostgreSQL|ECONNREFUSED/);
    expect(store.extensions.http).toEqual({ status: 503, headers: { 'Retry-After': '1' } });
    const key = toGraphQLError(new AuthError('INVALID_KEY', 'keys[0]: kid "prod-2026" appears twice'));
    expect(key.message).toBe('Unexpected error.');
    // Client errors keep theirs: it is what the client needs to know.
    expect(toGraphQLError(new AuthError('TOKEN_EXPIRED', 'access token expired')).message).toBe('access token expired');
  });

  test('toGraphQLError keeps the path of the error graphql-js wrapped, and can leave the status to the server', () => {
    const wrapped = new GraphQLError('x', { path: ['login'] });
    const error = toGraphQLError(new AuthError('REFRESH_TOKEN_REUSED', 'reused'), { from: wrapped, http: false });
    expect(error.path).toEqual(['login']);
    expect(error.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'REFRESH_TOKEN_REUSED' });
  });
});

describe('useAuth answers with the table', () => {
  const ask = async (error: Error) => {
    const yoga = createYoga<AuthContext>({
      logging: false,
      schema: createSchema<AuthContext>({ typeDefs: 'type Query { me: String }', resolvers: {} }),
      plugins: [useAuth({ auth: { verifyAccessToken: () => Promise.reject(error) } })],
    });
    const response = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer abc.def.ghi' },
      body: JSON.stringify({ query: '{ me }' }),
    });
    const body = (await response.json()) as { errors: { extensions: Record<string, unknown> }[] };
    return { status: response.status, headers: response.headers, extensions: body.errors[0]?.extensions };
  };

  test('SESSION_REVOKED: 401 UNAUTHENTICATED with reason SESSION_REVOKED', async () => {
    const result = await ask(new AuthError('SESSION_REVOKED', 'revoked'));
    expect(result.status).toBe(401);
    expect(result.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'SESSION_REVOKED' });
    expect(result.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  });

  test('BUSY: 503 with Retry-After and extensions.code BUSY', async () => {
    const result = await ask(new AuthBusyError(1_200));
    expect(result.status).toBe(503);
    expect(result.headers.get('retry-after')).toBe('2');
    expect(result.extensions).toEqual({ code: 'BUSY', retryAfterMs: 1_200 });
  });
});
