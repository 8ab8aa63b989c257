import type { MaskError } from './graphql-operation.ts';
import type { RequestContextOptions } from './http.ts';
import type { RequestLoggingTelemetry } from './operation-spans.ts';

/** A log method in pino's call shape: the fields first, then the message. */
export type RequestLogMethod = (fields: Record<string, unknown>, message: string) => void;

/** Where `useRequestLogging` writes: a pino logger (`createLogger`, or any pino) fits as it is. */
export interface RequestLoggingLogger {
  info: RequestLogMethod;
  warn: RequestLogMethod;
  error: RequestLogMethod;
  /** When present, a line as each subscription (or other stream) starts; its end is logged anyway. */
  debug?: RequestLogMethod;
}

/** Options of `useRequestLogging`. */
export interface RequestLoggingOptions {
  /** Where the operation lines go. Lines carry the operation's context through the logger's mixin. */
  logger: RequestLoggingLogger;
  /**
   * The share of successful operations logged, from 0 to 1. Failures, server faults and slow
   * operations are always logged. @default 1
   */
  sampleRate?: number;
  /**
   * Operations slower than this (milliseconds) get a `warn` line, whether sampled or not.
   * Subscriptions are exempt: they last as long as their client wants. @default 1000
   */
  slowOperationMs?: number;
  /**
   * How an HTTP request's id is read, made and echoed (see `RequestContextOptions`). A request
   * that already has a context (`requestContext` or the Fastify plugin ran first) keeps its id.
   */
  requestId?: Pick<RequestContextOptions, 'header' | 'trustIncomingId' | 'generateId' | 'responseHeader'>;
  /**
   * The server's own error mask (the function given to yoga as `maskedErrors.maskError`), so
   * errors are classified as the client sees them: an error the mask turns into a coded refusal
   * (`FORBIDDEN`) is the client's, not a server fault; one it answers with a code and a 5xx status
   * and no `originalError` is an outage (`warn`); one that keeps the thrown error as its
   * `originalError` is a fault, logged at `error` with that cause. Called once per logged error,
   * after the operation: it must have no side effects (no logging of its own). @default none (errors as
   * thrown: anything that is no GraphQL error counts as a fault, as yoga's default mask would hide it)
   */
  maskError?: MaskError;
  /**
   * OpenTelemetry: a span per operation (`query Name`, `graphql.operation.*`), a child of the
   * active span if there is one; resolvers, the packages' own spans and the operation's log line
   * run with it active (a logger with `telemetry` then writes its `trace.id`). `true` for the
   * global `@opentelemetry/api` (an optional peer), or the API object. @default false
   */
  telemetry?: RequestLoggingTelemetry;
}
