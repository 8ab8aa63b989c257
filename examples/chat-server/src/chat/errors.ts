/** The codes clients see in `extensions.code` for the server's own refusals. */
export type AppErrorCode = 'NOT_FOUND' | 'BAD_USER_INPUT' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'TOO_MANY_SUBSCRIPTIONS';

/** A refusal decided by the chat domain (the packages have their own error classes). */
export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly code: AppErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);
