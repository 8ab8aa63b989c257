import { mkdirSync } from 'node:fs';
import { InfraError } from './errors.ts';
import {
  isRunning,
  isStopped,
  logTail,
  type ProcessRecord,
  pollUntil,
  type SpawnedServer,
  type SpawnServerOptions,
  signalTree,
  spawnServer,
  stopProcess,
  waitUntilGone,
} from './process.ts';
import type { ProcessTracker } from './types.ts';

/** One server process of a topology, with the handles failure tests need. */
export abstract class ServerNode {
  private server: SpawnedServer | undefined;

  constructor(
    readonly name: string,
    readonly port: number,
  ) {}

  /** Starts the server and waits until it is ready in its role. */
  abstract start(): Promise<void>;

  get record(): ProcessRecord {
    if (!this.server) throw new InfraError(`${this.name} was never started`);
    return this.server.record;
  }

  get pid(): number {
    return this.record.pid;
  }

  isRunning(): boolean {
    return this.server !== undefined && isRunning(this.server.record);
  }

  /** Graceful shutdown (the server's own signal), SIGKILL if it lingers; waits until it is gone. */
  async stop(): Promise<void> {
    if (this.server) await stopProcess(this.server.record);
  }

  /** SIGKILL the server and all its children, as a crash or a lost machine would. */
  async kill(): Promise<void> {
    if (!this.server) return;
    signalTree(this.server.record, 'SIGKILL');
    if (!(await waitUntilGone(this.server.record, 10_000))) {
      throw new InfraError(`${this.name} (pid ${this.pid}) survived SIGKILL`);
    }
  }

  /** Running and not paused: the server can answer. */
  isReachable(): boolean {
    return this.server !== undefined && isRunning(this.server.record) && !isStopped(this.server.record);
  }

  /** SIGSTOP the server and all its children: connections stay open but nothing answers. */
  pause(): void {
    if (this.server) signalTree(this.server.record, 'SIGSTOP');
  }

  /** SIGCONT a paused server. */
  resume(): void {
    if (this.server) signalTree(this.server.record, 'SIGCONT');
  }

  /** Start again after `kill()` or `stop()`, on the same port and data. */
  async restart(): Promise<void> {
    if (this.server && !(await waitUntilGone(this.server.record, 10_000))) {
      throw new InfraError(`${this.name} is still running; stop or kill it before restarting`);
    }
    await this.start();
  }

  /**
   * Spawns the process, records it with the tracker, and polls `isReady` until it says yes;
   * fails at once (with the log tail) if the process exits meanwhile.
   */
  protected async launch(
    spawnOptions: Omit<SpawnServerOptions, 'name'>,
    tracker: ProcessTracker | undefined,
    readiness: { what: string; timeoutMs: number; isReady: () => Promise<boolean>; signal?: AbortSignal | undefined },
  ): Promise<void> {
    if (this.isRunning()) throw new InfraError(`${this.name} is already running`);
    // An aborted start spawns nothing more: whatever runs is recorded, and will be stopped.
    if (readiness.signal?.aborted) throw new InfraError(`start aborted before ${this.name}`);
    const server = await spawnServer({ ...spawnOptions, name: this.name });
    this.server = server;
    tracker?.track(server.record);
    const logFile = server.record.logFile;
    await pollUntil(
      `${this.name} on port ${this.port} ${readiness.what}`,
      async () => {
        if (server.hasExited() || !isRunning(server.record)) {
          throw new InfraError(`${this.name} exited during start`, logTail(logFile));
        }
        return (await readiness.isReady()) ? true : undefined;
      },
      { timeoutMs: readiness.timeoutMs, onTimeout: () => logTail(logFile), signal: readiness.signal },
    );
  }
}

/** What every node of one cluster shares: where it lives, how it runs, who records it. */
export interface NodeContext<Binaries> {
  dir: string;
  binaries: Binaries;
  detached: boolean;
  tracker: ProcessTracker | undefined;
  startTimeoutMs: number;
  signal: AbortSignal | undefined;
}

/** Options every cluster starter takes. */
export interface ClusterStartOptions {
  /** A folder of ours for data dirs, configs and logs. */
  dir: string;
  /** Leave the servers running when this process exits (the CLI's `up`). @default false */
  detached?: boolean;
  tracker?: ProcessTracker;
  /** How long one server may take to become ready. @default 30000 */
  startTimeoutMs?: number;
  /** Aborts a start in progress: nothing more is spawned, waits end at once. */
  signal?: AbortSignal;
}

export function nodeContext<Binaries>(options: ClusterStartOptions, binaries: Binaries): NodeContext<Binaries> {
  mkdirSync(options.dir, { recursive: true });
  return {
    dir: options.dir,
    binaries,
    detached: options.detached ?? false,
    tracker: options.tracker,
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
    signal: options.signal,
  };
}
