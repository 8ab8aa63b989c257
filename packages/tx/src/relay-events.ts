import type { OutboxRelayEvents } from './relay.ts';

type Listener<E extends keyof OutboxRelayEvents> = (...args: Parameters<OutboxRelayEvents[E]>) => void;

/**
 * The relay's listeners. Emitting never throws and never waits: the relay's loops call it between
 * database round trips, and a listener's failure must not stop delivery.
 */
export class RelayEmitter {
  readonly #listeners: { [E in keyof OutboxRelayEvents]: Set<OutboxRelayEvents[E]> } = {
    delivered: new Set(),
    failed: new Set(),
    error: new Set(),
    listening: new Set(),
  };

  /** Adds a listener; returns the function that removes it. */
  on<E extends keyof OutboxRelayEvents>(event: E, listener: OutboxRelayEvents[E]): () => void {
    const set = this.#listeners[event] as Set<OutboxRelayEvents[E]>;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  emit<E extends keyof OutboxRelayEvents>(event: E, ...args: Parameters<OutboxRelayEvents[E]>): void {
    const set = this.#listeners[event] as Set<Listener<E>>;
    if (event === 'error' && set.size === 0) {
      // Nobody listens: an infrastructure error (the database is down) must still be seen somewhere.
      const error = args[0];
      process.emitWarning(error instanceof Error ? error : new Error(String(error)), { type: 'OutboxRelayWarning' });
      return;
    }
    for (const listener of set) {
      try {
        listener(...args);
      } catch {
        // A throwing listener must not stop the relay.
      }
    }
  }
}
