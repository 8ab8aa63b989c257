/** Every failure of the infra tooling: one line a developer can act on, plus the log tail. */
export class InfraError extends Error {
  override readonly name = 'InfraError';
  constructor(
    message: string,
    /** Last lines of the server log, when a server failed to start or stop. */
    readonly logTail?: string,
    options?: { cause?: unknown },
  ) {
    super(logTail ? `${message}\n--- log tail ---\n${logTail}` : message, options);
  }
}
