import type { PoolClient } from 'pg';
import type { RelayPool } from './relay.ts';
import type { RelayEmitter } from './relay-events.ts';

/**
 * Keeps one connection LISTENing on the outbox channel and turns each NOTIFY into a wake-up of the
 * polling loop. When the connection is lost it reconnects with backoff; polling carries on
 * meanwhile, so a lost LISTEN only slows delivery down to `pollIntervalMs`.
 */
export class ListenLoop {
  #running = false;
  #loop: Promise<void> | undefined;
  /** The connection while it is LISTENing. */
  #client: PoolClient | undefined;
  /** Resolves the wait of a connected loop: the connection was lost, or the relay stops. */
  #lost: (() => void) | undefined;
  /** Ends the wait before a reconnection attempt, for `stop()`. */
  #stopReconnectWait: (() => void) | undefined;
  // Both a lost connection and stop() may hand the client back; the pool must get it once.
  readonly #released = new WeakSet<PoolClient>();
  readonly #onNotification = () => this.wake();

  constructor(
    private readonly pool: RelayPool,
    private readonly channel: string,
    private readonly wake: () => void,
    private readonly events: RelayEmitter,
  ) {}

  get listening(): boolean {
    return this.#client !== undefined;
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Stops; resolves once the LISTEN connection is closed. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#stopReconnectWait?.();
    this.#lost?.();
    await this.#loop;
    if (this.#client) {
      const client = this.#client;
      this.#client = undefined;
      client.removeListener('notification', this.#onNotification);
      // Destroyed rather than pooled: it is still subscribed to the channel.
      this.#release(client, true);
    }
  }

  #release(client: PoolClient, error?: Error | boolean): void {
    if (this.#released.has(client)) return;
    this.#released.add(client);
    client.release(error);
  }

  async #run(): Promise<void> {
    let delay = 100;
    while (this.#running) {
      if (this.#client) {
        // Connected: wait until the connection is lost or the relay stops.
        await new Promise<void>((resolve) => {
          this.#lost = resolve;
        });
        continue;
      }
      let client: PoolClient | undefined;
      try {
        client = await this.pool.connect();
        const current = client;
        current.on('notification', this.#onNotification);
        const onLost = (error?: unknown) => {
          if (this.#client !== current) return;
          this.#client = undefined;
          current.removeListener('notification', this.#onNotification);
          this.#release(current, error instanceof Error ? error : true);
          if (this.#running) {
            this.events.emit('error', error ?? new Error('the LISTEN connection ended'));
            this.events.emit('listening', false);
          }
          this.#lost?.();
        };
        current.on('error', onLost);
        current.on('end', () => onLost());
        await current.query(`LISTEN ${this.channel}`);
        if (!this.#running) {
          this.#release(current, true);
          return;
        }
        this.#client = current;
        delay = 100;
        this.events.emit('listening', true);
        // Events committed while we were not listening: look now.
        this.wake();
      } catch (error) {
        if (client) this.#release(client, error instanceof Error ? error : true);
        if (!this.#running) return;
        this.events.emit('error', error);
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.#stopReconnectWait = () => {
            clearTimeout(timer);
            resolve(undefined);
          };
        });
        delay = Math.min(delay * 2, 5000);
      }
    }
  }
}
