import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, test } from 'vitest';
import { runWithLogContext } from '../src/context.ts';
import { createLogger, DEFAULT_REDACT_PATHS } from '../src/logger.ts';
import type { LoggerOptions } from '../src/options.ts';

const SECRET = 'S3CR3T-VALUE';
const FORMATS = ['ecs', 'pino'] as const;

function capture(options: Partial<LoggerOptions> = {}) {
  const raw: string[] = [];
  const log = createLogger({ serviceName: 's', ...options }, { write: (line: string) => void raw.push(line) });
  return { log, raw };
}

const SECRET_FIELDS = [
  'password',
  'currentPassword',
  'newPassword',
  'token',
  'accessToken',
  'refreshToken',
  'deviceToken',
  'secret',
  'apiKey',
];
const HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key'];
const titleCase = (name: string) =>
  name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());

/** Every shape the defaults claim to cover, for one secret field or header. */
function fieldShapes(field: string): [string, Record<string, unknown>][] {
  return [
    ['top level', { [field]: SECRET }],
    ['one level down', { input: { [field]: SECRET } }],
    ['GraphQL variables', { variables: { [field]: SECRET } }],
    ['a GraphQL input object', { variables: { input: { [field]: SECRET } } }],
    ['variables one level out', { graphql: { variables: { [field]: SECRET } } }],
    ['an input object one level out', { graphql: { variables: { input: { [field]: SECRET } } } }],
  ];
}
function headerShapes(header: string): [string, Record<string, unknown>][] {
  return [
    ['headers', { headers: { [header]: SECRET } }],
    ['req.headers', { req: { method: 'GET', headers: { [header]: SECRET } } }],
    ['request.headers', { request: { headers: { [header]: SECRET } } }],
    ['res.headers', { res: { statusCode: 200, headers: { [header]: [SECRET, SECRET] } } }],
    ['http.request.headers', { http: { request: { headers: { [header]: SECRET } } } }],
    ['err.config.headers', { upstream: { config: { headers: { [header]: SECRET } } } }],
  ];
}

describe('default redaction', () => {
  for (const format of FORMATS) {
    describe(`${format} format`, () => {
      const cases = [
        ...SECRET_FIELDS.flatMap((field) =>
          fieldShapes(field).map(([shape, fields]) => [`${field} (${shape})`, fields] as const),
        ),
        ...HEADERS.flatMap((header) =>
          [header, titleCase(header)].flatMap((name) =>
            headerShapes(name).map(([shape, fields]) => [`${name} header in ${shape}`, fields] as const),
          ),
        ),
      ];
      test.each(cases)('hides %s', (_, fields) => {
        const { log, raw } = capture({ format });
        log.info(fields, 'attempt');
        expect(raw).toHaveLength(1);
        expect(raw[0]).not.toContain(SECRET);
        expect(raw[0]).toContain('[redacted]');
      });
    });
  }

  test('headers of a real request and response (ECS http.request / http.response.headers)', async () => {
    const { log, raw } = capture();
    const server = createServer((req, res) => {
      log.info({ req }, 'request');
      res.setHeader('set-cookie', [`session=${SECRET}; HttpOnly`, `refresh=${SECRET}`]);
      res.end();
      log.info({ res }, 'response');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      // fetch sends the names as given; Node lowercases them on arrival.
      const response = await fetch(`http://127.0.0.1:${port}/`, {
        headers: {
          Authorization: `Bearer ${SECRET}`,
          Cookie: `sid=${SECRET}`,
          'Proxy-Authorization': `Basic ${SECRET}`,
          'X-Api-Key': SECRET,
        },
      });
      await response.text();
    } finally {
      server.close();
    }
    expect(raw).toHaveLength(2);
    for (const line of raw) expect(line).not.toContain(SECRET);
    const request = JSON.parse(raw[0] as string) as { http: { request: { headers: Record<string, string> } } };
    expect(request.http.request.headers).toMatchObject({
      authorization: '[redacted]',
      cookie: '[redacted]',
      'proxy-authorization': '[redacted]',
      'x-api-key': '[redacted]',
    });
    expect(JSON.parse(raw[1] as string).http.response.headers['set-cookie']).toBe('[redacted]');
  });

  test('secrets in the log context and in child bindings', () => {
    for (const format of FORMATS) {
      const { log, raw } = capture({ format });
      runWithLogContext({ requestId: 'r', token: SECRET, session: { refreshToken: SECRET } }, () => log.info('line'));
      log.child({ apiKey: SECRET, upstream: { secret: SECRET } }).info('child');
      expect(raw).toHaveLength(2);
      for (const line of raw) expect(line).not.toContain(SECRET);
    }
  });

  test('objects interpolated into the message', () => {
    for (const format of FORMATS) {
      const { log, raw } = capture({ format });
      log.info('login %o', { password: SECRET });
      log.info('login %j', { password: SECRET });
      for (const line of raw) expect(line).not.toContain(SECRET);
    }
  });

  test('an HTTP client error carrying the request config (pino format copies error properties)', () => {
    const { log, raw } = capture({ format: 'pino' });
    const axiosLike = Object.assign(new Error('Request failed with status code 401'), {
      config: { url: '/api', headers: { Authorization: `Bearer ${SECRET}` } },
    });
    log.error({ err: axiosLike }, 'upstream refused');
    expect(raw[0]).not.toContain(SECRET);
    expect(JSON.parse(raw[0] as string).err.config.url).toBe('/api');
  });

  test('ECS error.* carries only type, message, stack, code and causes: nothing else of the error', () => {
    const { log, raw } = capture();
    const error = Object.assign(new Error('refused'), {
      config: { headers: { 'X-Custom-Auth': SECRET } },
      body: SECRET,
    });
    log.error({ err: error }, 'upstream refused');
    log.error({ err: { credentials: SECRET } }, 'thrown object');
    for (const line of raw) expect(line).not.toContain(SECRET);
  });

  test('redacted values keep their place; the logged object is not modified', () => {
    const { log, raw } = capture();
    const fields = { user: { password: SECRET, name: 'ann' } };
    log.info(fields, 'line');
    expect(JSON.parse(raw[0] as string).user).toEqual({ password: '[redacted]', name: 'ann' });
    expect(fields.user.password).toBe(SECRET);
  });

  test('pino format: nested objects on the way to a secret are copied, not modified', () => {
    const { log, raw } = capture({ format: 'pino' });
    const variables = { input: { password: SECRET, email: 'ann@example.com' } };
    const headers = { authorization: SECRET, accept: 'application/json' };
    log.info({ variables, request: { headers } }, 'line');
    expect(raw[0]).not.toContain(SECRET);
    expect(JSON.parse(raw[0] as string)).toMatchObject({
      variables: { input: { password: '[redacted]', email: 'ann@example.com' } },
      request: { headers: { authorization: '[redacted]', accept: 'application/json' } },
    });
    expect(variables.input.password).toBe(SECRET);
    expect(headers.authorization).toBe(SECRET);
  });

  test('headers of requests kept in an array (`*.*.headers` reaches array items, as in pino)', () => {
    for (const format of FORMATS) {
      const { log, raw } = capture({ format });
      log.info({ retries: [{ headers: { cookie: SECRET } }, { headers: { authorization: SECRET } }] }, 'line');
      expect(raw[0]).not.toContain(SECRET);
    }
  });

  test('grandchild loggers: bindings of every generation are redacted', () => {
    for (const format of FORMATS) {
      const { log, raw } = capture({ format });
      log
        .child({ session: { refreshToken: SECRET } })
        .child({ upstream: { headers: { authorization: SECRET } }, token: SECRET })
        .info('grandchild');
      expect(raw).toHaveLength(1);
      expect(raw[0]).not.toContain(SECRET);
    }
  });

  test('a field that cannot be looked into (a Proxy that throws) is censored, not shown, and the line is written', () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('ownKeys trap');
        },
      },
    );
    for (const format of FORMATS) {
      const { log, raw } = capture({ format });
      expect(() => log.info({ wrapper: { hostile } }, 'line')).not.toThrow();
      expect(JSON.parse(raw[0] as string).wrapper).toEqual({ hostile: '[redacted]' });
    }
  });

  test('documented limits: matching is exact and case-sensitive, and depth is bounded', () => {
    const { log, raw } = capture();
    log.info({ headers: { AUTHORIZATION: 'upper-case-header' } }, 'case');
    log.info({ Password: 'capitalised-field' }, 'case');
    log.info({ a: { b: { c: { password: 'three-levels-down' } } } }, 'depth');
    log.info({ users: [{ password: 'inside-an-array' }] }, 'array');
    expect(raw.join('')).toContain('upper-case-header');
    expect(raw.join('')).toContain('capitalised-field');
    expect(raw.join('')).toContain('three-levels-down');
    expect(raw.join('')).toContain('inside-an-array');
  });
});

describe('the redact option', () => {
  test('a list of paths adds to the defaults', () => {
    const { log, raw } = capture({ redact: ['user.email', 'headers.AUTHORIZATION'] });
    log.info({ user: { email: 'ann@example.com' }, password: SECRET, headers: { AUTHORIZATION: SECRET } }, 'x');
    expect(raw[0]).not.toContain('ann@example.com');
    expect(raw[0]).not.toContain(SECRET);
  });

  test('a custom censor, still with the defaults', () => {
    const { log, raw } = capture({ redact: { paths: ['user.email'], censor: '***' } });
    log.info({ user: { email: 'ann@example.com' }, token: SECRET }, 'x');
    expect(JSON.parse(raw[0] as string)).toMatchObject({ user: { email: '***' }, token: '***' });
  });

  test('keepDefaults: false replaces the defaults', () => {
    const { log, raw } = capture({ redact: { paths: ['user.email'], keepDefaults: false } });
    log.info({ user: { email: 'ann@example.com' }, password: 'visible-by-choice' }, 'x');
    expect(raw[0]).not.toContain('ann@example.com');
    expect(raw[0]).toContain('visible-by-choice');
  });

  test('keepDefaults: false with no paths redacts nothing, in lines and in child bindings', () => {
    const { log, raw } = capture({ redact: { keepDefaults: false } });
    log.info({ password: 'visible-by-choice', input: { token: 'visible-too' } }, 'x');
    log.child({ session: { refreshToken: 'visible-child' } }).info('y');
    expect(raw[0]).toContain('visible-by-choice');
    expect(raw[0]).toContain('visible-too');
    expect(raw[1]).toContain('visible-child');
  });

  test('DEFAULT_REDACT_PATHS is frozen, so no caller widens or narrows it for everyone', () => {
    expect(Object.isFrozen(DEFAULT_REDACT_PATHS)).toBe(true);
    expect(DEFAULT_REDACT_PATHS).toContain('password');
    expect(DEFAULT_REDACT_PATHS).toContain('*.headers["authorization"]');
  });
});
