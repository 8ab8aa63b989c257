import type { BusMessage, CacheBus } from '../types.ts';

/**
 * An in-process bus: several caches in one process (tests, workers sharing a process) hear
 * each other's invalidations. Across processes use `createRedisBus`.
 */
export function createMemoryBus(): CacheBus {
  const handlers = new Set<(message: BusMessage & { from: string }) => void>();
  return {
    async publish(message) {
      // Delivered asynchronously, as a real bus would.
      await Promise.resolve();
      for (const handler of handlers) handler(message);
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
  };
}
