import type { HookPhase, TransactionHook } from './transaction.ts';

/** Where hook errors go when the caller gave no `onHookError`: a warning, never a crash. */
export function warnHookError(error: unknown, phase: HookPhase): void {
  const warning = error instanceof Error ? error : new Error(String(error));
  process.emitWarning(warning, { type: 'TransactionHookWarning', detail: `thrown by an ${phase} hook` });
}

/**
 * Runs hooks one after the other. The transaction already has its outcome, so a failing hook is
 * reported and the next one still runs.
 */
export async function runHooks(
  hooks: TransactionHook[],
  phase: HookPhase,
  onHookError: (error: unknown, phase: HookPhase) => void,
): Promise<void> {
  for (const hook of hooks) {
    try {
      await hook();
    } catch (error) {
      try {
        onHookError(error, phase);
      } catch {
        // A throwing error reporter must not turn a finished transaction into a failure.
      }
    }
  }
}
