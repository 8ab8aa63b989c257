/**
 * @switchboard/logging: Elastic Common Schema lines from pino, a log context that follows the work
 * (request id, user, operation, trace ids), and request-context middleware for Node's `http` and
 * Express. graphql-yoga: `@switchboard/logging/yoga`; Fastify: `@switchboard/logging/fastify`.
 * @packageDocumentation
 */
export { bindLogContext, type LogContext, logContext, runWithLogContext, setLogContext } from './context.ts';
export { type EcsError, type EcsErrorCause, serializeError } from './error-fields.ts';
export { type RequestContextOptions, requestContext } from './http.ts';
export { createLogger, DEFAULT_REDACT_PATHS, type Logger } from './logger.ts';
export type { LoggerOptions, LoggerTelemetry } from './options.ts';
