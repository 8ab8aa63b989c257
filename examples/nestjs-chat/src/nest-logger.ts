import type { LoggerService } from '@nestjs/common';
import type { Logger } from '@switchboard/logging';

/** Nest's own log lines (startup, errors) through @switchboard/logging: one ECS stream for the app. */
export class SwitchboardNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string) {
    this.logger.info({ nest: { context } }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ nest: { context }, ...(trace ? { error: { stack_trace: trace } } : {}) }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ nest: { context } }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ nest: { context } }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ nest: { context } }, String(message));
  }
}
