import { EventEmitter } from 'node:events';

/** What listeners receive; `cache.on('hit' | 'miss' | 'stale' | 'error' | 'invalidate', listener)`. */
export interface CacheEvent {
  key?: string;
  tag?: string;
  tier?: 'l1' | 'l2';
  reason?: string;
  error?: unknown;
}

export type CacheEventName = 'hit' | 'miss' | 'stale' | 'error' | 'invalidate';

/**
 * The cache's listeners. `listening` says, per event, whether anyone listens: the hot paths
 * check it before building an event object nobody would receive.
 */
export class CacheEvents {
  private readonly emitter = new EventEmitter();
  private readonly flags: Record<CacheEventName, boolean> = {
    hit: false,
    miss: false,
    stale: false,
    error: false,
    invalidate: false,
  };
  /** Read-only view of the flags; only `on` / `off` change them. */
  readonly listening: Readonly<Record<CacheEventName, boolean>> = this.flags;

  on(name: CacheEventName, listener: (event: CacheEvent) => void): void {
    this.emitter.on(name, listener);
    this.flags[name] = true;
  }

  off(name: CacheEventName, listener: (event: CacheEvent) => void): void {
    this.emitter.off(name, listener);
    this.flags[name] = this.emitter.listenerCount(name) > 0;
  }

  emit(name: CacheEventName, event: CacheEvent): void {
    if (!this.flags[name]) return;
    try {
      this.emitter.emit(name, event);
    } catch {
      // A listener's bug must not break a read, nor surface as an unhandled rejection.
    }
  }
}
