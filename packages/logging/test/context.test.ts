import { EventEmitter, once } from 'node:events';
import { PassThrough, Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { bindLogContext, logContext, runWithLogContext, setLogContext } from '../src/context.ts';
import { createLogger } from '../src/logger.ts';

type Line = Record<string, unknown>;

function capture() {
  const lines: Line[] = [];
  const log = createLogger(
    { serviceName: 's', format: 'pino' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Line) },
  );
  return { log, lines };
}

/** The request id each line carried, by message. */
const idsByMessage = (lines: Line[]) => Object.fromEntries(lines.map((line) => [line.msg, line.requestId ?? null]));

describe('log context', () => {
  test('follows await, timers, setImmediate, nextTick and microtasks', async () => {
    const { log, lines } = capture();
    await runWithLogContext({ requestId: 'req-1' }, async () => {
      await Promise.resolve();
      log.info('after await');
      await sleep(2);
      log.info('after timers/promises');
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          log.info('setTimeout');
          resolve();
        }, 1),
      );
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          log.info('setImmediate');
          resolve();
        }),
      );
      await new Promise<void>((resolve) =>
        process.nextTick(() => {
          log.info('nextTick');
          resolve();
        }),
      );
      await new Promise<void>((resolve) =>
        queueMicrotask(() => {
          log.info('queueMicrotask');
          resolve();
        }),
      );
      await new Promise<void>((resolve) => {
        let ticks = 0;
        const interval = setInterval(() => {
          log.info(`setInterval ${++ticks}`);
          if (ticks === 2) {
            clearInterval(interval);
            resolve();
          }
        }, 1);
      });
    });
    log.info('outside');
    expect(idsByMessage(lines)).toEqual({
      'after await': 'req-1',
      'after timers/promises': 'req-1',
      setTimeout: 'req-1',
      setImmediate: 'req-1',
      nextTick: 'req-1',
      queueMicrotask: 'req-1',
      'setInterval 1': 'req-1',
      'setInterval 2': 'req-1',
      outside: null,
    });
  });

  test('background work started by a request keeps its context after the request returned', async () => {
    const { log, lines } = capture();
    let background: Promise<void> | undefined;
    runWithLogContext({ requestId: 'req-1' }, () => {
      background = sleep(5).then(() => log.info('background job'));
    });
    log.info('request done');
    await background;
    expect(idsByMessage(lines)).toEqual({ 'request done': null, 'background job': 'req-1' });
  });

  test('concurrent requests never see each other', async () => {
    const { log, lines } = capture();
    await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        runWithLogContext({ requestId: `req-${index}` }, async () => {
          await sleep(Math.floor(Math.random() * 5));
          log.info(`line ${index}`);
          await sleep(Math.floor(Math.random() * 5));
          log.info(`line ${index} again`);
        }),
      ),
    );
    expect(lines).toHaveLength(100);
    for (const line of lines)
      expect(line.msg).toMatch(new RegExp(`^line ${String(line.requestId).slice(4)}( again)?$`));
  });

  test("EventEmitter listeners run in the emitter's context unless bound with bindLogContext", () => {
    const { log, lines } = capture();
    const emitter = new EventEmitter();
    runWithLogContext({ requestId: 'subscriber' }, () => {
      emitter.on('message', () => log.info('plain listener'));
      emitter.on(
        'message',
        bindLogContext(() => log.info('bound listener')),
      );
    });
    // A publisher elsewhere (the Redis subscriber connection, another request) emits.
    runWithLogContext({ requestId: 'publisher' }, () => emitter.emit('message'));
    expect(idsByMessage(lines)).toEqual({ 'plain listener': 'publisher', 'bound listener': 'subscriber' });
  });

  test('bindLogContext outside any context returns the function itself', () => {
    const fn = () => 1;
    expect(bindLogContext(fn)).toBe(fn);
    expect(() => bindLogContext('x' as never)).toThrow(TypeError);
  });

  test('follows a stream pipeline and an async iterator consumed in the context', async () => {
    const { log, lines } = capture();
    await runWithLogContext({ requestId: 'req-stream' }, async () => {
      const upper = new Transform({
        transform(chunk, _encoding, callback) {
          log.info('transform');
          callback(null, String(chunk).toUpperCase());
        },
      });
      const sink = new Writable({
        write(_chunk, _encoding, callback) {
          log.info('write');
          callback();
        },
      });
      await pipeline(Readable.from(['a', 'b']), upper, sink);

      async function* messages() {
        for (const text of ['one', 'two']) {
          await sleep(1);
          log.info(`yield ${text}`);
          yield text;
        }
      }
      for await (const _ of messages()) log.info('consume');
    });
    expect(lines.length).toBe(2 + 2 + 2 + 2);
    for (const line of lines) expect(line.requestId).toBe('req-stream');
  });

  test('a stream created outside keeps the context of whoever pushes into it', async () => {
    const { log, lines } = capture();
    const stream = new PassThrough({ objectMode: true });
    stream.on(
      'data',
      bindLogContext(() => log.info('bound data listener')),
    );
    const done = once(stream, 'end');
    runWithLogContext({ requestId: 'pusher' }, () => {
      stream.on('data', () => log.info('data listener'));
      setImmediate(() => {
        stream.write({ n: 1 });
        stream.end();
      });
    });
    await done;
    // Registered outside any context, the bound listener has none to restore; the other runs
    // in the context of the push.
    expect(idsByMessage(lines)).toEqual({ 'bound data listener': 'pusher', 'data listener': 'pusher' });
  });

  test('nested runs add to the outer context and restore it afterwards', async () => {
    const { log, lines } = capture();
    await runWithLogContext({ requestId: 'req-1', userId: 'u-1' }, async () => {
      await runWithLogContext({ operationName: 'SendMessage', userId: 'u-2' }, async () => {
        await sleep(1);
        log.info('inner');
      });
      log.info('outer again');
    });
    expect(lines[0]).toMatchObject({ requestId: 'req-1', userId: 'u-2', operationName: 'SendMessage' });
    expect(lines[1]).toMatchObject({ requestId: 'req-1', userId: 'u-1' });
    expect(lines[1]).not.toHaveProperty('operationName');
  });

  test('setLogContext adds fields for the rest of the work; false outside a context', async () => {
    const { log, lines } = capture();
    expect(setLogContext({ userId: 'nobody' })).toBe(false);
    await runWithLogContext({ requestId: 'req-1' }, async () => {
      log.info('before auth');
      expect(setLogContext({ userId: 'u-42' })).toBe(true);
      await sleep(1);
      log.info('after auth');
    });
    log.info('outside');
    expect(lines.map((line) => line.userId ?? null)).toEqual([null, 'u-42', null]);
    expect(() => setLogContext(null as never)).toThrow(TypeError);
  });

  test('setLogContext in a nested run does not reach the outer one', () => {
    runWithLogContext({ requestId: 'req-1' }, () => {
      runWithLogContext({ operationName: 'Op' }, () => setLogContext({ userId: 'u-1' }));
      expect(logContext()).toEqual({ requestId: 'req-1' });
    });
  });

  test('logContext returns a copy, undefined outside', () => {
    expect(logContext()).toBeUndefined();
    runWithLogContext({ requestId: 'req-1' }, () => {
      const copy = logContext() as Record<string, unknown>;
      copy.requestId = 'changed';
      expect(logContext()).toEqual({ requestId: 'req-1' });
    });
  });

  test('runWithLogContext refuses bad arguments and returns what fn returns', () => {
    expect(() => runWithLogContext(null as never, () => 1)).toThrow(TypeError);
    expect(() => runWithLogContext({}, 'fn' as never)).toThrow(TypeError);
    expect(runWithLogContext({ requestId: 'x' }, () => 42)).toBe(42);
  });

  test('two copies of the package (ESM and CJS builds, two installs) share one context store', async () => {
    // A second, separate instance of the module, as a second copy of the package would load.
    const secondCopy = `${fileURLToPath(new URL('../src/context.ts', import.meta.url))}?copy=2`;
    const copy = (await import(/* @vite-ignore */ secondCopy)) as typeof import('../src/context.ts');
    expect(copy.runWithLogContext).not.toBe(runWithLogContext);
    const { log, lines } = capture();
    copy.runWithLogContext({ requestId: 'set-by-copy' }, () => {
      expect(logContext()).toEqual({ requestId: 'set-by-copy' });
      log.info('logger of the first copy');
    });
    runWithLogContext({ requestId: 'set-by-first' }, () => {
      expect(copy.logContext()).toEqual({ requestId: 'set-by-first' });
      copy.setLogContext({ userId: 'u-1' });
      log.info('after setLogContext of the copy');
    });
    expect(lines[0]?.requestId).toBe('set-by-copy');
    expect(lines[1]).toMatchObject({ requestId: 'set-by-first', userId: 'u-1' });
  });
});
