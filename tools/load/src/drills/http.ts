import { Pool } from 'undici';

/** What one HTTP attempt came to. */
export type AttemptOutcome =
  | { ok: true; data: Record<string, unknown> }
  | {
      ok: false;
      /** e.g. `network ECONNREFUSED`, `timeout`, `http 503 DATABASE_UNAVAILABLE`, `graphql RATE_LIMITED`. */
      kind: string;
      /** The server could not do it now (connection, timeout, 5xx, database unavailable): worth retrying. */
      retriable: boolean;
      /** The answer's `Retry-After` (seconds form), in ms. */
      retryAfterMs?: number;
    };

/** Errors that mean the connection to the instance is gone, not that the request was refused. */
const CONNECTION_LOST = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
]);
/** GraphQL error codes of a failure on the server's side (same as a 5xx): a retry may succeed. */
const RETRIABLE_CODES = new Set(['DATABASE_UNAVAILABLE', 'INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE']);

/**
 * The drill's view of the chat server instances, as a client-side load balancer has it: one
 * keep-alive pool per instance; an instance whose connection broke is taken out of rotation and
 * put back once its `/health` answers again (probes are not counted as requests).
 */
export class Endpoints {
  private readonly pools: Pool[];
  private readonly paths: string[];
  private readonly origins: string[];
  private readonly down = new Set<number>();
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(
    urls: readonly string[],
    private readonly options: { connections: number; timeoutMs: number },
  ) {
    this.paths = urls.map((url) => new URL(url).pathname);
    this.origins = urls.map((url) => new URL(url).origin);
    this.pools = this.origins.map(
      (origin) =>
        new Pool(origin, {
          connections: options.connections,
          headersTimeout: options.timeoutMs,
          bodyTimeout: options.timeoutMs,
          connectTimeout: 2_000,
        }),
    );
    this.probeTimer = setInterval(() => void this.probe(), 250);
    this.probeTimer.unref();
  }

  get count(): number {
    return this.pools.length;
  }

  isUp(instance: number): boolean {
    return !this.down.has(instance);
  }

  /** `preferred` when it is in rotation, else the next one that is (else `preferred` anyway). */
  pick(preferred: number): number {
    for (let step = 0; step < this.pools.length; step++) {
      const candidate = (preferred + step) % this.pools.length;
      if (!this.down.has(candidate)) return candidate;
    }
    return preferred;
  }

  /** One GraphQL POST; never throws. */
  async post(instance: number, body: string, token: string): Promise<AttemptOutcome> {
    const pool = this.pools[instance] as Pool;
    try {
      const response = await pool.request({
        method: 'POST',
        path: this.paths[instance] as string,
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          authorization: `Bearer ${token}`,
        },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      const text = await response.body.text();
      let parsed: { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: unknown } }[] } = {};
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not GraphQL (a proxy's page, a crash): the status says enough.
      }
      const code = parsed.errors?.[0]?.extensions?.code;
      const codeText = code === undefined ? '' : ` ${String(code)}`;
      if (response.statusCode >= 500) {
        const retryAfter = Number(response.headers['retry-after']);
        return {
          ok: false,
          kind: `http ${response.statusCode}${codeText}`,
          retriable: true,
          ...(retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
        };
      }
      if (response.statusCode !== 200 || parsed.errors?.length || !parsed.data) {
        const kind = response.statusCode === 200 ? `graphql${codeText}` : `http ${response.statusCode}${codeText}`;
        return { ok: false, kind, retriable: code === undefined || RETRIABLE_CODES.has(String(code)) };
      }
      return { ok: true, data: parsed.data };
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError' || (error as { code?: string }).code?.includes('TIMEOUT')) {
        if ((error as { code?: string }).code === 'UND_ERR_CONNECT_TIMEOUT') this.down.add(instance);
        return { ok: false, kind: 'timeout', retriable: true };
      }
      const code = (error as { code?: string }).code ?? name ?? 'error';
      if (CONNECTION_LOST.has(code)) this.down.add(instance);
      return { ok: false, kind: `network ${code}`, retriable: true };
    }
  }

  private async probe(): Promise<void> {
    if (this.probing || this.down.size === 0) return;
    this.probing = true;
    try {
      await Promise.all(
        [...this.down].map(async (instance) => {
          try {
            const response = await fetch(`${this.origins[instance]}/health`, { signal: AbortSignal.timeout(1_000) });
            await response.arrayBuffer();
            if (response.ok) this.down.delete(instance);
          } catch {
            // Still down.
          }
        }),
      );
    } finally {
      this.probing = false;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    await Promise.all(this.pools.map((pool) => pool.destroy()));
  }
}
