import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { serializeError } from '../src/error-fields.ts';
import { createLogger } from '../src/logger.ts';

const withCode = <E extends Error>(error: E, code: unknown): E => Object.assign(error, { code });

describe('serializeError', () => {
  test('type, message and stack_trace of an Error', () => {
    const error = new TypeError('expected a string');
    expect(serializeError(error)).toEqual({
      type: 'TypeError',
      message: 'expected a string',
      stack_trace: error.stack,
    });
  });

  test('type is the subclass name', () => {
    class PublishError extends Error {}
    expect(serializeError(new PublishError('x')).type).toBe('PublishError');
  });

  test('code only when it is a string', () => {
    expect(serializeError(withCode(new Error('x'), 'ECONNREFUSED')).code).toBe('ECONNREFUSED');
    expect(serializeError(withCode(new Error('x'), 500))).not.toHaveProperty('code');
    expect(serializeError(withCode(new Error('x'), { nested: 'code' }))).not.toHaveProperty('code');
  });

  test('the cause chain, direct cause first, each with type, message and code', () => {
    const root = withCode(new Error('connect ECONNREFUSED'), 'ECONNREFUSED');
    const middle = new RangeError('pool exhausted', { cause: root });
    const top = new Error('query failed', { cause: middle });
    expect(serializeError(top).cause).toEqual([
      { type: 'RangeError', message: 'pool exhausted' },
      { type: 'Error', message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' },
    ]);
  });

  test('non-error causes are described too', () => {
    expect(serializeError(new Error('x', { cause: 'timeout' })).cause).toEqual([
      { type: 'string', message: 'timeout' },
    ]);
    expect(serializeError(new Error('x', { cause: { code: 'E1' } })).cause).toEqual([
      { type: 'Object', message: '(no message)', code: 'E1' },
    ]);
  });

  test('no cause field without a cause (null counts as none)', () => {
    expect(serializeError(new Error('x'))).not.toHaveProperty('cause');
    expect(serializeError(new Error('x', { cause: null }))).not.toHaveProperty('cause');
  });

  test('a cycle ends the chain', () => {
    const self = new Error('self');
    (self as { cause?: unknown }).cause = self;
    expect(serializeError(self)).not.toHaveProperty('cause');

    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(serializeError(a).cause).toEqual([{ type: 'Error', message: 'b' }]);
  });

  test('a long chain stops at 8 causes', () => {
    let error = new Error('0');
    for (let depth = 1; depth <= 50; depth++) error = new Error(String(depth), { cause: error });
    const cause = serializeError(error).cause ?? [];
    expect(cause).toHaveLength(8);
    expect(cause.map((link) => link.message)).toEqual(['49', '48', '47', '46', '45', '44', '43', '42']);
  });

  test("an AggregateError's errors (at most 8), beside its own cause", () => {
    const errors = Array.from({ length: 12 }, (_, index) => withCode(new Error(`replica ${index}`), `E${index}`));
    const aggregate = new AggregateError(errors, 'all replicas failed', { cause: new Error('network partition') });
    const serialized = serializeError(aggregate);
    expect(serialized.type).toBe('AggregateError');
    expect(serialized.errors).toHaveLength(8);
    expect(serialized.errors?.[0]).toEqual({ type: 'Error', message: 'replica 0', code: 'E0' });
    expect(serialized.cause).toEqual([{ type: 'Error', message: 'network partition' }]);
  });

  test('an error from another realm (instanceof Error is false) is still an error', () => {
    const foreign = runInNewContext('const e = new TypeError("from a vm"); e.code = "E_VM"; e') as unknown;
    expect(foreign instanceof Error).toBe(false);
    expect(serializeError(foreign)).toMatchObject({ type: 'TypeError', message: 'from a vm', code: 'E_VM' });
    expect(serializeError(foreign).stack_trace).toMatch(/TypeError: from a vm/);
  });

  test.each([
    ['a string', 'socket hang up', { type: 'string', message: 'socket hang up' }],
    ['a number', 42, { type: 'number', message: '42' }],
    ['a bigint', 10n, { type: 'bigint', message: '10' }],
    ['a boolean', false, { type: 'boolean', message: 'false' }],
    ['a symbol', Symbol('boom'), { type: 'symbol', message: 'Symbol(boom)' }],
    ['null', null, { type: 'null', message: 'null' }],
    ['undefined', undefined, { type: 'undefined', message: 'undefined' }],
    ['a function', () => 'secret source', { type: 'function', message: '(no message)' }],
    [
      'an object with message and name',
      { name: 'HttpError', message: 'bad gateway' },
      { type: 'HttpError', message: 'bad gateway' },
    ],
    ['an object without message', { status: 502 }, { type: 'Object', message: '(no message)' }],
    ['a null-prototype object', Object.create(null), { type: 'Object', message: '(no message)' }],
    ['an object with a non-string message', { message: { text: 'x' } }, { type: 'Object', message: '(no message)' }],
  ])('never throws on %s', (_, value, expected) => {
    expect(serializeError(value)).toEqual(expected);
  });

  test("an object's other fields never reach the message (they would bypass redaction)", () => {
    const serialized = serializeError({ user: 'ann', password: 'hunter2', token: 'eyJhbGciOi' });
    expect(JSON.stringify(serialized)).not.toMatch(/hunter2|eyJhbGciOi|ann/);
  });

  test('getters that throw are read as missing', () => {
    const hostile = new Error('kept');
    for (const key of ['message', 'stack', 'code', 'cause', 'errors', 'name']) {
      Object.defineProperty(hostile, key, {
        get() {
          throw new Error(`getter ${key}`);
        },
      });
    }
    Object.defineProperty(hostile, 'constructor', {
      get() {
        throw new Error('getter constructor');
      },
    });
    expect(serializeError(hostile)).toEqual({ type: 'Object', message: '(no message)' });
  });

  test('a Proxy whose every trap throws, and a revoked Proxy', () => {
    const throwing = new Proxy(new Error('x'), {
      get() {
        throw new Error('get trap');
      },
      getPrototypeOf() {
        throw new Error('getPrototypeOf trap');
      },
      has() {
        throw new Error('has trap');
      },
    });
    expect(serializeError(throwing)).toEqual({ type: 'Object', message: '(no message)' });
    const { proxy, revoke } = Proxy.revocable(new Error('revoked'), {});
    revoke();
    expect(serializeError(proxy)).toEqual({ type: 'Object', message: '(no message)' });
    // As a cause and inside an AggregateError too.
    expect(serializeError(new Error('outer', { cause: proxy })).cause).toEqual([
      { type: 'Object', message: '(no message)' },
    ]);
    expect(serializeError(new AggregateError([throwing], 'all')).errors).toEqual([
      { type: 'Object', message: '(no message)' },
    ]);
  });

  test('a frozen error', () => {
    const frozen = Object.freeze(withCode(new Error('frozen'), 'E_FROZEN'));
    expect(serializeError(frozen)).toMatchObject({ type: 'Error', message: 'frozen', code: 'E_FROZEN' });
  });

  test('property: never throws and always gives string type and message, whatever is thrown', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withMap: true, withSet: true, withNullPrototype: true }), (value) => {
        const serialized = serializeError(value);
        expect(typeof serialized.type).toBe('string');
        expect(typeof serialized.message).toBe('string');
        // JSON-safe: what pino writes.
        expect(() => JSON.stringify(serialized)).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });
});

describe('createLogger with hostile errors', () => {
  const hostileValues: [string, unknown][] = [
    ['a string', 'boom'],
    ['null', null],
    ['an object without message', { status: 500 }],
    [
      'a revoked proxy',
      (() => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        return proxy;
      })(),
    ],
    ['a frozen error', Object.freeze(new Error('frozen'))],
    [
      'an error with throwing getters',
      Object.defineProperty(new Error('x'), 'stack', {
        get() {
          throw new Error('stack getter');
        },
      }),
    ],
    [
      'a self-caused error',
      (() => {
        const error = new Error('loop');
        (error as { cause?: unknown }).cause = error;
        return error;
      })(),
    ],
  ];

  for (const format of ['ecs', 'pino'] as const) {
    test.each(hostileValues)(`${format} format: logs { err: %s } without throwing`, (_, value) => {
      const lines: string[] = [];
      const log = createLogger({ serviceName: 's', format }, { write: (line: string) => void lines.push(line) });
      expect(() => log.error({ err: value }, 'failed')).not.toThrow();
      expect(lines).toHaveLength(1);
      const line = JSON.parse(lines[0] as string) as Record<string, unknown>;
      expect(line[format === 'ecs' ? 'message' : 'msg']).toBe('failed');
      if (format === 'ecs') expect(typeof (line.error as { type?: unknown }).type).toBe('string');
    });
  }
});
