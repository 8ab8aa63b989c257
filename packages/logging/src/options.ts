import pino from 'pino';
import { type ResolvedRedaction, resolveRedaction } from './redaction.ts';

/**
 * The piece of the OpenTelemetry API the logger reads: `trace.getActiveSpan()`. `@opentelemetry/api`
 * itself fits (`telemetry: api`), as does any object with the same shape (a test double, a second
 * API instance).
 */
export interface LoggerTelemetry {
  trace: {
    getActiveSpan(): { spanContext(): { traceId: string; spanId: string; traceFlags: number } } | undefined;
  };
}

/** `createLogger`'s options. */
export interface LoggerOptions {
  /** `service.name` on every line (`name` in the pino format). Required, non-empty. */
  serviceName: string;
  /** `service.version` on every line (`serviceVersion` in the pino format). */
  serviceVersion?: string;
  /** `service.environment` on every line (`environment` in the pino format): `production`, `staging`... */
  environment?: string;
  /** The lowest level written: `trace`, `debug`, `info`, `warn`, `error`, `fatal` or `silent`. @default 'info' */
  level?: string;
  /**
   * `'ecs'`: Elastic Common Schema lines (`@timestamp`, `log.level`, `message`, `error.*`,
   * `http.*`...), for Filebeat / Elastic Agent. `'pino'`: plain pino lines (`time`, numeric
   * `level`, `msg`, `err`), for pino-pretty and pino transports. @default 'ecs'
   */
  format?: 'ecs' | 'pino';
  /**
   * Paths (pino syntax) whose values are replaced on every line. A list adds to
   * `DEFAULT_REDACT_PATHS`; `{ paths, censor, keepDefaults: false }` replaces them. Matching is
   * case-sensitive (Node lowercases incoming header names; spell other casings out).
   * @default DEFAULT_REDACT_PATHS, censor '[redacted]'
   */
  redact?: readonly string[] | { paths?: readonly string[]; censor?: string; keepDefaults?: boolean };
  /**
   * Trace ids on every line written while a valid span is active (`trace.id` / `span.id`, or
   * `traceId` / `spanId` in the pino format). `true` loads the global `@opentelemetry/api` (an
   * optional peer dependency: install it); an object passes the API piece to use. Off, no
   * OpenTelemetry code runs. @default false
   */
  telemetry?: boolean | LoggerTelemetry;
}

/** `createLogger`'s options, checked and completed once. */
export interface ResolvedLoggerOptions {
  serviceName: string;
  serviceVersion: string | undefined;
  environment: string | undefined;
  level: string;
  format: 'ecs' | 'pino';
  redaction: ResolvedRedaction;
  telemetry: LoggerTelemetry | true | undefined;
}

function optionalText(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`createLogger: \`${name}\` must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks `createLogger`'s options; every mistake is a `TypeError` naming the option. */
export function resolveLoggerOptions(options: LoggerOptions): ResolvedLoggerOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('createLogger needs an options object ({ serviceName, ... })');
  }
  const serviceName = optionalText('serviceName', options.serviceName);
  if (serviceName === undefined) throw new TypeError('createLogger: `serviceName` is required');
  const level = options.level ?? 'info';
  if (typeof level !== 'string' || (level !== 'silent' && !Object.hasOwn(pino.levels.values, level))) {
    throw new TypeError(
      `createLogger: \`level\` must be one of ${[...Object.keys(pino.levels.values), 'silent'].join(', ')}, got ${JSON.stringify(level)}`,
    );
  }
  const format = options.format ?? 'ecs';
  if (format !== 'ecs' && format !== 'pino') {
    throw new TypeError(`createLogger: \`format\` must be 'ecs' or 'pino', got ${JSON.stringify(format)}`);
  }
  const telemetry = options.telemetry;
  let resolvedTelemetry: ResolvedLoggerOptions['telemetry'];
  if (telemetry === true) resolvedTelemetry = true;
  else if (telemetry === undefined || telemetry === false) resolvedTelemetry = undefined;
  else if (
    telemetry !== null &&
    typeof telemetry === 'object' &&
    typeof (telemetry as Partial<LoggerTelemetry>).trace?.getActiveSpan === 'function'
  ) {
    resolvedTelemetry = telemetry;
  } else {
    throw new TypeError(
      'createLogger: `telemetry` must be true, false or an object with trace.getActiveSpan() (the @opentelemetry/api module)',
    );
  }
  return {
    serviceName,
    serviceVersion: optionalText('serviceVersion', options.serviceVersion),
    environment: optionalText('environment', options.environment),
    level,
    format,
    redaction: resolveRedaction(options.redact),
    telemetry: resolvedTelemetry,
  };
}
