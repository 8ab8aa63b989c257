import { hostname } from 'node:os';
import { ecsFormat } from '@elastic/ecs-pino-format';
import pino from 'pino';
import { currentLogContext, type LogContext } from './context.ts';
import { isError, serializeError } from './error-fields.ts';
import { type LoggerOptions, type ResolvedLoggerOptions, resolveLoggerOptions } from './options.ts';
import { type PathTree, redactDefaults } from './redaction.ts';
import { activeSpanIds } from './trace-ids.ts';

export { DEFAULT_REDACT_PATHS } from './redaction.ts';

/** A pino logger: `info` / `warn` / `error` / `child` ... as pino documents them. */
export type Logger = pino.Logger;

type Fields = Record<string, unknown>;

// Log-context fields and their Elastic Common Schema names. Applied to the context and to a
// line's own fields alike, so `logger.info({ userId })` lands where the context's `userId` does.
const ECS_NAMES: readonly (readonly [string, string])[] = [
  ['requestId', 'http.request.id'],
  ['userId', 'user.id'],
  ['operationName', 'graphql.operation.name'],
  ['operationType', 'graphql.operation.type'],
  ['transactionId', 'transaction.id'],
];

// What the mixin returns when there is nothing to add: the merge below then hands pino the
// line's own object, with no copy.
const NOTHING: Fields = Object.freeze({});

// pino's default merge is `Object.assign(mixinResult, lineFields)`: handing it the context object
// itself would write one line's fields into the context, and so into every later line. Here both
// stay untouched; the line's fields win over the context's.
const mergeLine = (line: object, extra: object): object => (extra === NOTHING ? line : { ...extra, ...line });

function contextMixin(): () => Fields {
  return () => currentLogContext() ?? NOTHING;
}

function tracingMixin(telemetry: NonNullable<ResolvedLoggerOptions['telemetry']>, format: 'ecs' | 'pino') {
  const spanIds = activeSpanIds(telemetry);
  const traceKey = format === 'ecs' ? 'trace.id' : 'traceId';
  const spanKey = format === 'ecs' ? 'span.id' : 'spanId';
  return (): Fields => {
    const context: LogContext | undefined = currentLogContext();
    const ids = spanIds();
    if (ids === undefined) return context ?? NOTHING;
    return { ...context, [traceKey]: ids.traceId, [spanKey]: ids.spanId };
  };
}

/** Renames the context fields to their ECS names in `fields` (a copy pino owns), in place. */
function toEcsNames(fields: Fields): Fields {
  for (const [name, ecsName] of ECS_NAMES) {
    const value = fields[name];
    if (value === undefined) continue;
    // A line's own ECS-named field wins over the short name.
    if (fields[ecsName] === undefined) fields[ecsName] = value;
    // pino skips undefined fields: cheaper than `delete`, which slows every later read.
    fields[name] = undefined;
  }
  return fields;
}

const isObject = (value: unknown): value is Fields => typeof value === 'object' && value !== null;

// The duck-typing ecs-helpers applies before converting `req` / `res` (an http.IncomingMessage /
// ServerResponse, or hapi's wrapper). Anything else it drops without a word; we keep it as it is.
const isNodeRequest = (req: unknown): boolean =>
  isObject(req) &&
  (('httpVersion' in req && 'headers' in req && 'method' in req) ||
    (isObject(req.raw) && isObject(req.raw.req) && Boolean(req.raw.req.httpVersion)));
const isNodeResponse = (res: unknown): boolean =>
  isObject(res) &&
  (('statusCode' in res && typeof res.getHeaders === 'function') ||
    (isObject(res.raw) && isObject(res.raw.res) && typeof res.raw.res.getHeaders === 'function'));

function ecsOptions(settings: ResolvedLoggerOptions): pino.LoggerOptions {
  const ecs = ecsFormat({
    serviceName: settings.serviceName,
    ...(settings.serviceVersion === undefined ? {} : { serviceVersion: settings.serviceVersion }),
    ...(settings.environment === undefined ? {} : { serviceEnvironment: settings.environment }),
    convertReqRes: true,
    // serializeError below is a superset of ecs-helpers' formatError (same `type` rule, plus
    // `code`, the cause chain and AggregateError's errors), and it survives what formatError does
    // not: throwing getters, errors from another realm (`instanceof Error` fails) and thrown
    // non-errors (formatError leaves those as a raw `err`).
    convertErr: false,
    // Trace ids come from OpenTelemetry (`telemetry`), not from a `require('elastic-apm-node')`.
    apmIntegration: false,
  });
  const formatters = ecs.formatters as Required<NonNullable<pino.LoggerOptions['formatters']>>;
  const ecsLog = formatters.log;
  return {
    ...ecs,
    formatters: {
      // Child bindings are written as given (pino formats only the root's): use ECS names there.
      level: formatters.level,
      bindings: formatters.bindings,
      log(line) {
        const { req, res } = line;
        const fields = ecsLog(line) as Fields;
        if (req !== undefined && !isNodeRequest(req)) fields.req = req;
        if (res !== undefined && !isNodeResponse(res)) fields.res = res;
        if (isError(fields.error)) fields.error = serializeError(fields.error);
        if (fields.err !== undefined) {
          if (fields.error === undefined) fields.error = serializeError(fields.err);
          fields.err = undefined;
        }
        toEcsNames(fields);
        // ecs-helpers writes the `x-request-id` header as nested `http.request.id`: the context's
        // id (the one every other line of the request carries) replaces it, in the same place,
        // rather than standing beside it as a second value.
        const requestId = fields['http.request.id'];
        const http = fields.http;
        if (requestId !== undefined && isObject(http) && isObject(http.request)) {
          fields.http = { ...http, request: { ...http.request, id: requestId } };
          fields['http.request.id'] = undefined;
        }
        const { defaults, censor } = settings.redaction;
        return defaults === undefined ? fields : redactDefaults(fields, defaults, censor, true);
      },
    },
  };
}

/**
 * `err` (and an Error under `error`) through pino's own serializer, plus `cause` as the same
 * chain the ECS format writes; anything pino's serializer chokes on (a frozen error, a throwing
 * getter) gets `serializeError`'s fields instead.
 */
function pinoErrorSerializer(value: unknown): unknown {
  try {
    const serialized = pino.stdSerializers.err(value as Error) as unknown;
    if (serialized === value || !isObject(serialized)) return serialized;
    const cause = serializeError(value).cause;
    if (cause !== undefined) serialized.cause = cause;
    return serialized;
  } catch {
    return serializeError(value);
  }
}

function pinoOptions(settings: ResolvedLoggerOptions): pino.LoggerOptions {
  return {
    base: {
      pid: process.pid,
      hostname: hostname(),
      ...(settings.serviceVersion === undefined ? {} : { serviceVersion: settings.serviceVersion }),
      ...(settings.environment === undefined ? {} : { environment: settings.environment }),
    },
    name: settings.serviceName,
    serializers: { err: pinoErrorSerializer, error: pinoErrorSerializer },
    ...(settings.redaction.defaults === undefined
      ? {}
      : {
          formatters: {
            log: (line: Fields) =>
              redactDefaults(line, settings.redaction.defaults as PathTree, settings.redaction.censor, false),
          },
        }),
  };
}

/**
 * Child bindings are written once, when the child is made, and never pass through the line
 * formatter: the defaults are applied to them here (pino applies its own paths to them itself).
 * Children inherit the wrapper: pino makes a child from its parent's prototype chain.
 */
function redactChildBindings(logger: Logger, tree: PathTree, censor: string): void {
  type MakeChild = (this: Logger, bindings: pino.Bindings, options?: pino.ChildLoggerOptions) => Logger;
  const target = logger as unknown as { child: MakeChild };
  const child = target.child;
  target.child = function (bindings, options) {
    return child.call(this, redactDefaults(bindings, tree, censor, false), options);
  };
}

let stdout: pino.DestinationStream | undefined;

/**
 * One asynchronous stdout writer for every logger of the process (one buffer, one exit hook; two
 * writers on fd 1 could interleave the pieces of long lines). Asynchronous because pino's
 * default, a synchronous `write` per line, holds the event loop while stdout (a pipe to a log
 * shipper, a slow terminal) catches up; here libuv's threads write and requests go on. pino
 * flushes what is still buffered, synchronously, when the process exits (`exit` also follows an
 * uncaught exception); only a hard kill (SIGKILL, OOM killer) loses the last lines.
 */
function defaultDestination(): pino.DestinationStream {
  stdout ??= pino.destination({ dest: 1, sync: false });
  return stdout;
}

/**
 * A pino logger writing Elastic Common Schema lines (or plain pino lines with `format: 'pino'`),
 * with the current log context (`runWithLogContext`) and, with `telemetry`, the active span's
 * trace ids on every line, secrets redacted (`DEFAULT_REDACT_PATHS`), and errors under `err`
 * written with their `code` and their cause chain (`serializeError`).
 *
 * In the ECS format, the context's `requestId`, `userId`, `operationName`, `operationType` and
 * `transactionId` (in the context or a line's fields) become `http.request.id`,
 * `user.id`, `graphql.operation.name` / `.type` and `transaction.id`; `req` / `res` (Node's
 * request and response) become `http.*`, `url.*`, `client.*` and `user_agent.*`; `event.duration`
 * is written as given (nanoseconds, by ECS's definition). A line's own fields win over the
 * context's.
 *
 * @param destination Where lines go (a stream, `pino.destination(...)`, anything with
 *   `write(line)`). Default: stdout, written asynchronously (a synchronous write per line blocks
 *   the event loop under load) and flushed when the process exits.
 * @throws TypeError naming the option, for bad options or a missing `@opentelemetry/api` with
 *   `telemetry: true`.
 *
 * @example
 * import { createLogger, runWithLogContext } from '@switchboard/logging';
 *
 * const log = createLogger({ serviceName: 'chat-server', serviceVersion: '1.4.0', environment: 'production' });
 * runWithLogContext({ requestId: 'req-1', userId: 'u-42' }, () => {
 *   log.info({ chatId: 'c-7' }, 'message sent');
 *   // {"log.level":"info","@timestamp":"…","message":"message sent","http.request.id":"req-1","user.id":"u-42","chatId":"c-7",…}
 * });
 */
export function createLogger(options: LoggerOptions, destination?: pino.DestinationStream): Logger {
  const settings = resolveLoggerOptions(options);
  if (destination !== undefined && (destination === null || typeof destination.write !== 'function')) {
    throw new TypeError(
      'createLogger: `destination` must be a stream or pino.destination(...) (an object with write())',
    );
  }
  const { redaction, telemetry, format } = settings;
  const pinoSettings: pino.LoggerOptions = {
    ...(format === 'ecs' ? ecsOptions(settings) : pinoOptions(settings)),
    level: settings.level,
    mixin: telemetry === undefined ? contextMixin() : tracingMixin(telemetry, format),
    mixinMergeStrategy: mergeLine,
    ...(redaction.paths.length === 0 ? {} : { redact: { paths: redaction.paths, censor: redaction.censor } }),
  };
  let logger: Logger;
  try {
    logger = pino(pinoSettings, destination ?? defaultDestination());
  } catch (error) {
    // pino compiles the redaction paths here: a path it cannot parse is a bad `redact` option.
    if (error instanceof Error && /redact/i.test(error.message)) {
      throw new TypeError(`createLogger: \`redact\`: ${error.message}`, { cause: error });
    }
    throw error;
  }
  if (redaction.defaults !== undefined) redactChildBindings(logger, redaction.defaults, redaction.censor);
  return logger;
}
