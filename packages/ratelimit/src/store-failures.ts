import { withinDeadline } from '@switchboard/hot-path';
import { storeTimeout } from './bind-store.ts';
import { StoreTimeoutError, StoreUnavailableError } from './errors.ts';
import type { ResolvedSettings, StoreHealth } from './options.ts';
import { toResult } from './results.ts';
import type { Algorithm, Decision, EvaluateMode, RateLimitResult, RateLimitStore, StoreEntry } from './types.ts';

/** One entry of a check: the limiter it belongs to and what the store is asked. */
export interface Prepared {
  settings: ResolvedSettings;
  storeEntry: StoreEntry;
}

/** Answers by each entry's policy while the store is failing. */
export async function fallback(mode: EvaluateMode, prepared: Prepared[]): Promise<RateLimitResult[]> {
  const anyClosed = prepared.some(({ settings }) => settings.policy === 'closed');
  const insured = prepared.filter(({ settings }) => settings.insurance);
  const insuranceResults = new Map<StoreEntry, RateLimitResult>();
  // Insurance limiters of one call share one memory store only if their limiters share one.
  const byStore = new Map<RateLimitStore, typeof insured>();
  for (const entry of insured) {
    const store = entry.settings.insurance?.store as RateLimitStore;
    byStore.set(store, [...(byStore.get(store) ?? []), entry]);
  }
  for (const [store, group] of byStore) {
    // A refusing 'closed' entry means the whole call is refused: do not pay the insurance.
    const insuranceMode: EvaluateMode = anyClosed && mode === 'consume' ? 'peek' : mode;
    const decisions = await store.evaluate(
      insuranceMode,
      group.map(({ settings, storeEntry }) => ({
        ...storeEntry,
        algorithm: settings.insurance?.algorithm as Algorithm,
      })),
    );
    group.forEach((entry, index) => {
      const algorithm = entry.settings.insurance?.algorithm as Algorithm;
      insuranceResults.set(entry.storeEntry, {
        ...toResult(decisions[index] as Decision, algorithm),
        degraded: 'insurance',
      });
    });
  }
  return prepared.map(({ settings, storeEntry }) => {
    const insuredResult = insuranceResults.get(storeEntry);
    if (insuredResult) return insuredResult;
    const { limit } = settings.algorithm;
    if (settings.policy === 'open') {
      return { allowed: true, limit, remaining: limit, resetMs: 0, retryAfterMs: 0, degraded: 'open' };
    }
    // Until the store is tried again; a check refused for its keys alone: one retry period.
    const { retryAt } = settings.health;
    const wait = Math.max(1, retryAt > 0 ? retryAt - Date.now() : settings.retryStoreAfterMs);
    return { allowed: false, limit, remaining: 0, resetMs: wait, retryAfterMs: wait, degraded: 'closed' };
  });
}

export const firstResult = (results: RateLimitResult[]): RateLimitResult => results[0] as RateLimitResult;

/** Block and reset go to the store too; while it is down they fail with a typed error. */
export async function guarded(settings: ResolvedSettings, run: () => Promise<void>): Promise<void> {
  const { health } = settings;
  try {
    await withinDeadline(run(), settings.timeoutMs, storeTimeout);
    markHealthy(health, settings);
  } catch (error) {
    markFailed(health, settings, error);
    if (error instanceof StoreTimeoutError) throw error;
    throw new StoreUnavailableError(
      `rate-limit store failed: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
}

export function markFailed(health: StoreHealth, settings: ResolvedSettings, error: unknown): void {
  if (error instanceof StoreUnavailableError && error.keysOnly) {
    // The store answered; only this check's keys are unreadable: no outage to wait out. Said
    // once a minute per limiter, not per check.
    const now = Date.now();
    if (now >= settings.quietUntil) {
      settings.quietUntil = now + 60_000;
      warn(settings, 'rate-limit state unreadable; answering such checks by the onStoreError policy', {
        prefix: settings.prefix,
        error: error.message,
      });
    }
    return;
  }
  health.retryAt = Date.now() + settings.retryStoreAfterMs;
  if (!health.failing) {
    health.failing = true;
    warn(settings, 'rate-limit store failed; answering by the onStoreError policy', {
      prefix: settings.prefix,
      policy: typeof settings.policy === 'string' ? settings.policy : 'insurance',
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/** A logger that throws must not break a check (nor leave the checks batched with it unanswered). */
function warn(settings: ResolvedSettings, message: string, details: Record<string, unknown>): void {
  try {
    settings.logger.warn(message, details);
  } catch {
    // Nothing better to do with a failing logger.
  }
}

export function markHealthy(health: StoreHealth, settings: ResolvedSettings): void {
  if (health.failing) {
    health.failing = false;
    warn(settings, 'rate-limit store answers again', { prefix: settings.prefix });
  }
  health.retryAt = 0;
}
