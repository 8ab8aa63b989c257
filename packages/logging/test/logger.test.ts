import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import { logContext, runWithLogContext } from '../src/context.ts';
import { createLogger, type Logger } from '../src/logger.ts';
import type { LoggerOptions } from '../src/options.ts';

type Line = Record<string, unknown>;

/** A logger writing into an array of parsed lines. */
function capture(options: Partial<LoggerOptions> = {}): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const log = createLogger(
    { serviceName: 'chat-server', ...options },
    { write: (line: string) => void lines.push(JSON.parse(line) as Line) },
  );
  return { log, lines };
}

const only = (lines: Line[]): Line => {
  expect(lines).toHaveLength(1);
  return lines[0] as Line;
};

const LOGGER_MODULE = fileURLToPath(new URL('../src/logger.ts', import.meta.url));
const CONTEXT_MODULE = fileURLToPath(new URL('../src/context.ts', import.meta.url));

// Node 22.12 strips types only when asked (later lines do it by default).
const STRIP_TYPES = (process.features as { typescript?: unknown }).typescript
  ? []
  : ['--experimental-strip-types', '--no-warnings'];

/** Runs an ES module script in a fresh Node process (type stripping loads our .ts sources). */
function runNode(script: string, options: { args?: string[] } = {}): string {
  return execFileSync(
    process.execPath,
    [...STRIP_TYPES, ...(options.args ?? []), '--input-type=module', '-e', script],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    },
  );
}

describe('createLogger: ECS format', () => {
  test('writes the ECS base fields with their types on an info line', () => {
    const { log, lines } = capture({ serviceVersion: '1.4.0', environment: 'production' });
    log.info({ chatId: 'c-7', 'event.duration': 1_500_000 }, 'message sent');
    const line = only(lines);
    expect(line).toMatchObject({
      'log.level': 'info',
      message: 'message sent',
      'service.name': 'chat-server',
      'service.version': '1.4.0',
      'service.environment': 'production',
      'process.pid': process.pid,
      'event.duration': 1_500_000,
      chatId: 'c-7',
    });
    expect(line['@timestamp']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.now() - Date.parse(line['@timestamp'] as string)).toBeLessThan(5_000);
    expect(line['ecs.version']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(typeof line['host.hostname']).toBe('string');
    // Nothing of the pino shape is left beside the ECS fields.
    for (const key of ['msg', 'level', 'time', 'pid', 'hostname']) expect(line).not.toHaveProperty([key]);
  });

  test('leaves service.version and service.environment out when not given', () => {
    const { log, lines } = capture();
    log.info('started');
    const line = only(lines);
    expect(line).not.toHaveProperty(['service.version']);
    expect(line).not.toHaveProperty(['service.environment']);
  });

  test('writes `err` as error.type / message / stack_trace / code / cause', () => {
    const { log, lines } = capture();
    class DeliveryError extends Error {}
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
    log.error({ err: new DeliveryError('publish failed', { cause: refused }) }, 'outbox relay failed');
    const line = only(lines);
    expect(line['log.level']).toBe('error');
    expect(line.message).toBe('outbox relay failed');
    expect(line).not.toHaveProperty('err');
    const error = line.error as Record<string, unknown>;
    expect(error.type).toBe('DeliveryError');
    expect(error.message).toBe('publish failed');
    expect(error.stack_trace).toMatch(/^Error: publish failed\n\s+at /);
    expect(error.cause).toEqual([
      { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:6379', code: 'ECONNREFUSED' },
    ]);
  });

  test('an error passed alone becomes the message and error.*', () => {
    const { log, lines } = capture();
    log.error(Object.assign(new TypeError('bad input'), { code: 'BAD_USER_INPUT' }));
    const line = only(lines);
    expect(line.message).toBe('bad input');
    expect(line.error).toMatchObject({ type: 'TypeError', message: 'bad input', code: 'BAD_USER_INPUT' });
  });

  test('an Error logged under `error` is serialized too, instead of pino writing {}', () => {
    const { log, lines } = capture();
    log.warn({ error: new RangeError('too long') }, 'rejected');
    expect(only(lines).error).toMatchObject({ type: 'RangeError', message: 'too long' });
  });

  test('a thrown non-error under `err` still gives error.* fields', () => {
    const { log, lines } = capture();
    log.error({ err: 'socket hang up' }, 'failed');
    expect(only(lines).error).toEqual({ type: 'string', message: 'socket hang up' });
  });

  test('maps the log context to ECS names; other context fields stay as they are', () => {
    const { log, lines } = capture();
    runWithLogContext(
      {
        requestId: 'req-1',
        userId: 'u-42',
        operationName: 'SendMessage',
        operationType: 'mutation',
        transactionId: 'tx-9',
        chatId: 'c-7',
      },
      () => log.info('message sent'),
    );
    const line = only(lines);
    expect(line).toMatchObject({
      'http.request.id': 'req-1',
      'user.id': 'u-42',
      'graphql.operation.name': 'SendMessage',
      'graphql.operation.type': 'mutation',
      'transaction.id': 'tx-9',
      chatId: 'c-7',
    });
    for (const key of ['requestId', 'userId', 'operationName', 'operationType', 'transactionId']) {
      expect(line).not.toHaveProperty(key);
    }
  });

  test("a line's own fields win over the context's, under either name", () => {
    const { log, lines } = capture();
    runWithLogContext({ requestId: 'req-1', userId: 'u-1', chatId: 'c-1' }, () => {
      log.info({ userId: 'u-2', chatId: 'c-2' }, 'short names');
      log.info({ 'user.id': 'u-3', 'http.request.id': 'req-3' }, 'ECS names');
    });
    expect(lines[0]).toMatchObject({ 'user.id': 'u-2', chatId: 'c-2', 'http.request.id': 'req-1' });
    expect(lines[1]).toMatchObject({ 'user.id': 'u-3', 'http.request.id': 'req-3' });
  });

  test('no field of one line leaks into the context or into later lines', () => {
    const { log, lines } = capture();
    runWithLogContext({ requestId: 'req-1' }, () => {
      log.info({ err: new Error('first'), chatId: 'c-1', userId: 'u-1' }, 'one');
      log.error(new Error('second'));
      log.info('three');
      expect(logContext()).toEqual({ requestId: 'req-1' });
    });
    expect(lines[1]).not.toHaveProperty('chatId');
    expect(lines[1]).not.toHaveProperty(['user.id']);
    expect(lines[1]?.error).toMatchObject({ message: 'second' });
    expect(lines[2]).toEqual(expect.not.objectContaining({ chatId: expect.anything(), error: expect.anything() }));
    expect(lines[2]).not.toHaveProperty(['user.id']);
    expect(lines[2]?.['http.request.id']).toBe('req-1');
  });

  test('does not modify the object a line was logged with', () => {
    const { log } = capture();
    const fields = { userId: 'u-1', err: new Error('x'), nested: { password: 'hunter2' } };
    runWithLogContext({ requestId: 'req-1' }, () => log.info(fields, 'line'));
    expect(Object.keys(fields)).toEqual(['userId', 'err', 'nested']);
    expect(fields.nested.password).toBe('hunter2');
  });

  test('req and res from a real HTTP exchange become http.* and url.*; the context id replaces the header one', async () => {
    const { log, lines } = capture();
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      runWithLogContext({ requestId: 'ctx-id' }, () => {
        log.info({ req }, 'request');
        res.setHeader('content-type', 'application/json');
        res.statusCode = 201;
        res.end('{}');
        log.info({ res, 'event.duration': 2_000_000 }, 'response');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/graphql?op=SendMessage`, {
        method: 'POST',
        headers: { 'x-request-id': 'header-id', 'user-agent': 'switchboard-test' },
        body: '{}',
      });
      await response.text();
    } finally {
      server.close();
    }
    const [request, response] = lines as [Line, Line];
    expect(request).toMatchObject({
      http: { version: '1.1', request: { method: 'POST', id: 'ctx-id' } },
      url: { path: '/graphql', query: 'op=SendMessage' },
      user_agent: { original: 'switchboard-test' },
      client: { ip: '127.0.0.1' },
    });
    expect(request).not.toHaveProperty(['http.request.id']);
    expect(request).not.toHaveProperty('req');
    expect(response).toMatchObject({
      http: { response: { status_code: 201 } },
      'event.duration': 2_000_000,
      'http.request.id': 'ctx-id',
    });
  });

  test('a req that is not a Node request (already serialized) is kept, not dropped', () => {
    const { log, lines } = capture();
    log.info({ req: { method: 'GET', url: '/health' } }, 'request');
    expect(only(lines).req).toEqual({ method: 'GET', url: '/health' });
  });

  test('child loggers carry their bindings and the context', () => {
    const { log, lines } = capture();
    const child = log.child({ component: 'outbox-relay' });
    runWithLogContext({ requestId: 'req-1' }, () => child.info('claimed'));
    expect(only(lines)).toMatchObject({ component: 'outbox-relay', 'http.request.id': 'req-1', message: 'claimed' });
  });

  test('respects the level', () => {
    const { log, lines } = capture({ level: 'warn' });
    log.info('hidden');
    log.debug('hidden');
    log.warn('shown');
    expect(lines.map((line) => line.message)).toEqual(['shown']);
    expect(log.level).toBe('warn');
  });
});

describe('createLogger: pino format', () => {
  test('writes plain pino lines: msg, numeric level, time, name', () => {
    const { log, lines } = capture({ format: 'pino', serviceVersion: '2.0.0', environment: 'staging' });
    log.info({ chatId: 'c-7' }, 'message sent');
    const line = only(lines);
    expect(line).toMatchObject({
      level: 30,
      msg: 'message sent',
      name: 'chat-server',
      pid: process.pid,
      serviceVersion: '2.0.0',
      environment: 'staging',
      chatId: 'c-7',
    });
    expect(typeof line.time).toBe('number');
    expect(line).not.toHaveProperty('message');
    expect(line).not.toHaveProperty('@timestamp');
  });

  test('context keys as they are, the line winning, no leak between lines', () => {
    const { log, lines } = capture({ format: 'pino' });
    runWithLogContext({ requestId: 'req-1', userId: 'u-1' }, () => {
      log.info({ userId: 'u-2', extra: true }, 'one');
      log.info('two');
    });
    expect(lines[0]).toMatchObject({ requestId: 'req-1', userId: 'u-2', extra: true });
    expect(lines[1]).toMatchObject({ requestId: 'req-1', userId: 'u-1' });
    expect(lines[1]).not.toHaveProperty('extra');
  });

  test("err through pino's serializer, with the cause chain", () => {
    const { log, lines } = capture({ format: 'pino' });
    const inner = Object.assign(new Error('deadlock detected'), { code: '40P01' });
    const outer = Object.assign(new Error('transaction failed', { cause: inner }), { code: 'TX_FAILED', attempt: 3 });
    log.error({ err: outer }, 'gave up');
    const err = only(lines).err as Record<string, unknown>;
    expect(err).toMatchObject({
      type: 'Error',
      message: 'transaction failed: deadlock detected',
      code: 'TX_FAILED',
      attempt: 3,
      cause: [{ type: 'Error', message: 'deadlock detected', code: '40P01' }],
    });
    expect(err.stack).toMatch(/caused by: Error: deadlock detected/);
  });

  test("an error pino's serializer chokes on (frozen) is still written", () => {
    const { log, lines } = capture({ format: 'pino' });
    const frozen = Object.freeze(Object.assign(new Error('frozen'), { code: 'E_FROZEN' }));
    expect(() => log.error({ err: frozen }, 'failed')).not.toThrow();
    expect(only(lines).err).toMatchObject({ type: 'Error', message: 'frozen', code: 'E_FROZEN' });
  });
});

describe('createLogger: options', () => {
  const write = { write: () => undefined };
  test.each([
    [{}, /serviceName/],
    [{ serviceName: '' }, /serviceName/],
    [{ serviceName: '  ' }, /serviceName/],
    [{ serviceName: 42 }, /serviceName/],
    [{ serviceName: 's', serviceVersion: '' }, /serviceVersion/],
    [{ serviceName: 's', environment: 7 }, /environment/],
    [{ serviceName: 's', level: 'verbose' }, /level/],
    [{ serviceName: 's', level: 30 }, /level/],
    [{ serviceName: 's', format: 'json' }, /format/],
    [{ serviceName: 's', telemetry: 'yes' }, /telemetry/],
    [{ serviceName: 's', telemetry: { trace: {} } }, /telemetry/],
    [{ serviceName: 's', redact: 'password' }, /redact/],
    [{ serviceName: 's', redact: null }, /redact/],
    [{ serviceName: 's', redact: { paths: 'password' } }, /redact/],
    [{ serviceName: 's', redact: [''] }, /redact/],
    [{ serviceName: 's', redact: ['a..b'] }, /redact/],
    [{ serviceName: 's', redact: { paths: ['a[b'] } }, /redact/],
    [{ serviceName: 's', redact: { censor: 0 } }, /redact\.censor/],
    [{ serviceName: 's', redact: { keepDefaults: 'no' } }, /redact\.keepDefaults/],
  ])('refuses %j with a TypeError naming the option', (options, name) => {
    expect(() => createLogger(options as unknown as LoggerOptions, write)).toThrow(TypeError);
    expect(() => createLogger(options as unknown as LoggerOptions, write)).toThrow(name);
  });

  test('refuses a missing options object and a destination without write()', () => {
    expect(() => createLogger(undefined as unknown as LoggerOptions)).toThrow(TypeError);
    expect(() => createLogger({ serviceName: 's' }, {} as never)).toThrow(/destination/);
  });

  test('accepts every pino level and silent', () => {
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']) {
      expect(createLogger({ serviceName: 's', level }, write).level).toBe(level);
    }
  });
});

describe('createLogger: telemetry', () => {
  // The real OpenTelemetry SDK runs in a plain Node process: vitest starts its workers with
  // `--conditions module`, which makes Node load the OpenTelemetry packages' `module` builds,
  // whose extensionless imports Node cannot resolve.
  let results: Record<string, Line[] | { traceId: string; spanId: string }>;
  beforeAll(() => {
    const script = `
      import * as otel from '@opentelemetry/api';
      import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
      import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
      import { runWithLogContext } from ${JSON.stringify(CONTEXT_MODULE)};
      import { createLogger } from ${JSON.stringify(LOGGER_MODULE)};
      otel.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      otel.trace.setGlobalTracerProvider(new BasicTracerProvider());
      const tracer = otel.trace.getTracer('test');
      const results = {};
      const logger = (name, options) => {
        const lines = (results[name] = []);
        return createLogger({ serviceName: 's', ...options }, { write: (line) => lines.push(JSON.parse(line)) });
      };
      const ecs = logger('ecs', { telemetry: true });
      const pinoFormat = logger('pino', { telemetry: true, format: 'pino' });
      const off = logger('off', {});
      const invalid = logger('invalid', { telemetry: otel });
      results.ids = await tracer.startActiveSpan('sendMessage', async (span) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        ecs.info('inside');
        runWithLogContext({ requestId: 'req-1' }, () => pinoFormat.info('inside'));
        off.info('inside');
        span.end();
        return span.spanContext();
      });
      ecs.info('outside');
      const nonRecording = otel.trace.wrapSpanContext(otel.INVALID_SPANCONTEXT);
      otel.context.with(otel.trace.setSpan(otel.context.active(), nonRecording), () => invalid.info('invalid span'));
      console.log(JSON.stringify(results));
    `;
    results = JSON.parse(runNode(script));
  });

  test('`true` loads the global API: trace.id and span.id while a span is active, across await', () => {
    const ids = results.ids as { traceId: string; spanId: string };
    const [inside, outside] = results.ecs as [Line, Line];
    expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(inside).toMatchObject({ 'trace.id': ids.traceId, 'span.id': ids.spanId, message: 'inside' });
    expect(outside).toMatchObject({ message: 'outside' });
    expect(outside).not.toHaveProperty(['trace.id']);
    expect(outside).not.toHaveProperty(['span.id']);
  });

  test('pino format: traceId and spanId, beside the context', () => {
    const ids = results.ids as { traceId: string; spanId: string };
    expect(results.pino).toEqual([
      expect.objectContaining({ traceId: ids.traceId, spanId: ids.spanId, requestId: 'req-1' }),
    ]);
  });

  test('off (the default): no trace ids even inside an active span', () => {
    expect(results.off).toEqual([expect.objectContaining({ message: 'inside' })]);
    expect((results.off as Line[])[0]).not.toHaveProperty(['trace.id']);
  });

  test('an invalid span context (a non-recording wrapper, an API without SDK) gives no ids', () => {
    expect(results.invalid).toEqual([expect.objectContaining({ message: 'invalid span' })]);
    expect((results.invalid as Line[])[0]).not.toHaveProperty(['trace.id']);
  });

  test('an API object passed as telemetry is the one read', () => {
    const ids = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 };
    const { log, lines } = capture({ telemetry: { trace: { getActiveSpan: () => ({ spanContext: () => ids }) } } });
    log.info('line');
    expect(only(lines)).toMatchObject({ 'trace.id': ids.traceId, 'span.id': ids.spanId });
  });

  test('a getActiveSpan that throws costs the ids, not the line', () => {
    const { log, lines } = capture({
      telemetry: {
        trace: {
          getActiveSpan: () => {
            throw new Error('broken tracer');
          },
        },
      },
    });
    expect(() => log.info('still written')).not.toThrow();
    expect(only(lines)).toMatchObject({ message: 'still written' });
  });

  test('off, @opentelemetry/api is never loaded; true loads it', () => {
    const script = `
            import { createRequire } from 'node:module';
      import { createLogger } from ${JSON.stringify(LOGGER_MODULE)};
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((file) => file.includes('@opentelemetry'));
      const sink = { write() {} };
      createLogger({ serviceName: 's' }, sink).info('x');
      createLogger({ serviceName: 's', format: 'pino', telemetry: false }, sink).info('x');
      const before = loaded();
      createLogger({ serviceName: 's', telemetry: true }, sink).info('x');
      console.log(JSON.stringify({ before, after: loaded() }));
    `;
    expect(JSON.parse(runNode(script))).toEqual({ before: false, after: true });
  });

  test('`true` without @opentelemetry/api installed: a TypeError saying what to install', () => {
    // The package made unfindable, as in an application that never installed it: Node's CommonJS
    // resolver (what the logger's createRequire goes through) refuses it. Not module.registerHooks:
    // Node 22.12, the oldest line we support, does not have it.
    const hideApi = `data:text/javascript,${encodeURIComponent(`
      import Module from 'node:module';
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (request.startsWith('@opentelemetry/api')) {
          throw Object.assign(new Error("Cannot find module '" + request + "'"), { code: 'MODULE_NOT_FOUND' });
        }
        return resolve.call(this, request, ...rest);
      };
    `)}`;
    const script = `
      import { createLogger } from ${JSON.stringify(LOGGER_MODULE)};
      try {
        createLogger({ serviceName: 's', telemetry: true }, { write() {} });
        console.log('created');
      } catch (error) {
        console.log(JSON.stringify({ name: error.name, message: error.message }));
      }
    `;
    const result = JSON.parse(runNode(script, { args: ['--import', hideApi] }));
    expect(result.name).toBe('TypeError');
    expect(result.message).toMatch(/telemetry.*npm install @opentelemetry\/api/);
  });
});

describe('createLogger: default destination', () => {
  test('writes to stdout and flushes every line on process.exit()', () => {
    const script = `
      import { createLogger } from ${JSON.stringify(LOGGER_MODULE)};
      const log = createLogger({ serviceName: 's' });
      const padding = 'x'.repeat(200);
      for (let i = 0; i < 20000; i++) log.info({ i, padding }, 'line');
      process.exit(0);
    `;
    const lines = runNode(script).trimEnd().split('\n');
    expect(lines).toHaveLength(20000);
    expect(JSON.parse(lines.at(-1) as string)).toMatchObject({ i: 19999, message: 'line' });
  });

  test('flushes on a natural exit, and two loggers share stdout without tearing lines', () => {
    const script = `
      import { createLogger } from ${JSON.stringify(LOGGER_MODULE)};
      const a = createLogger({ serviceName: 'a' });
      const b = createLogger({ serviceName: 'b', format: 'pino' });
      const padding = 'y'.repeat(20000);
      for (let i = 0; i < 500; i++) { a.info({ i, padding }, 'a'); b.info({ i, padding }, 'b'); }
      setTimeout(() => a.info('last'), 5);
    `;
    const lines = runNode(script).trimEnd().split('\n');
    expect(lines).toHaveLength(1001);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });
});
