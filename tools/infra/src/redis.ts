import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureRedis, type RedisBinaries } from './binaries.ts';
import { InfraError } from './errors.ts';
import { freePort } from './ports.ts';
import { allSettledOrThrow, pollUntil } from './process.ts';
import { pairsToRecord, parseInfo, redisCommand } from './resp.ts';
import { type ClusterStartOptions, type NodeContext, nodeContext, ServerNode } from './server-node.ts';
import type { RedisInfo } from './types.ts';

export const DEFAULT_MASTER_NAME = 'mymaster';

export interface RedisGroupOptions extends ClusterStartOptions {
  /** Replicas of the master. @default 2 */
  replicas?: number;
  /** Sentinels watching the master (quorum is a majority). @default 3 */
  sentinels?: number;
  /** @default 'mymaster' */
  masterName?: string;
  /**
   * Sentinel `down-after-milliseconds`. 2000, not 1000: at 1000 about one failover in 25 was
   * followed by a second one that lost acknowledged writes (redis/redis#8607).
   * @default 2000
   */
  downAfterMs?: number;
  /** @default 5000 */
  failoverTimeoutMs?: number;
}

type RedisRole = 'master' | 'replica' | 'sentinel';

/** One redis-server process (a data node, a Sentinel or a Redis Cluster node). */
export class RedisNode extends ServerNode {
  constructor(
    /** The role it was started in; data nodes swap master/replica on failover (ask `group.currentMaster()` or `cluster.masters()`). */
    readonly startRole: RedisRole,
    name: string,
    port: number,
    private readonly context: NodeContext<RedisBinaries>,
    private readonly argsFor: (node: RedisNode) => string[],
  ) {
    super(name, port);
  }

  get host(): string {
    return '127.0.0.1';
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get isSentinel(): boolean {
    return this.startRole === 'sentinel';
  }

  get dataDir(): string {
    return join(this.context.dir, this.name);
  }

  /** Starts the process and waits until it answers PING. */
  async start(): Promise<void> {
    mkdirSync(this.dataDir, { recursive: true });
    await this.launch(
      {
        command: this.context.binaries.redisServer,
        args: this.argsFor(this),
        logFile: join(this.context.dir, `${this.name}.log`),
        stopSignal: 'SIGTERM',
        detached: this.context.detached,
      },
      this.context.tracker,
      {
        what: 'to answer as our process',
        timeoutMs: this.context.startTimeoutMs,
        signal: this.context.signal,
        // The answer must come from our process: a port picked free can be taken by another
        // server before ours binds it.
        isReady: async () =>
          Number(parseInfo(await redisCommand(this.port, ['INFO', 'server'], 500)).process_id) === this.pid,
      },
    );
  }

  /** Sends one command to this node (RESP2, fresh connection). */
  command(...args: string[]): ReturnType<typeof redisCommand> {
    return redisCommand(this.port, args);
  }
}

/** A Redis master, its replicas and the Sentinels that watch them. */
export class RedisGroup {
  constructor(
    readonly masterName: string,
    /** Data nodes in start order; the first started as master. */
    readonly dataNodes: RedisNode[],
    readonly sentinels: RedisNode[],
    private readonly downAfterMs: number,
  ) {}

  get nodes(): RedisNode[] {
    return [...this.dataNodes, ...this.sentinels];
  }

  /** The data node the running Sentinels currently name as master. */
  async currentMaster(): Promise<RedisNode> {
    for (const sentinel of this.sentinels) {
      if (!sentinel.isRunning()) continue;
      try {
        const port = await this.sentinelMasterPort(sentinel);
        const node = this.dataNodes.find((candidate) => candidate.port === port);
        if (node) return node;
      } catch {
        // Try the next Sentinel.
      }
    }
    throw new InfraError('no running Sentinel names a master');
  }

  /** Data nodes other than the current master. */
  async currentReplicas(): Promise<RedisNode[]> {
    const master = await this.currentMaster();
    return this.dataNodes.filter((node) => node !== master);
  }

  info(): RedisInfo {
    const [master, ...replicas] = this.dataNodes;
    if (!master) throw new InfraError('redis group has no data nodes');
    return {
      master: master.url,
      replicas: replicas.map((replica) => replica.url),
      sentinels: this.sentinels.map((sentinel) => ({ host: sentinel.host, port: sentinel.port })),
      masterName: this.masterName,
    };
  }

  /**
   * Waits until every running Sentinel names a master other than `previous` and that node says
   * it is a master. Returns the new master.
   */
  async waitForFailover(previous: RedisNode, timeoutMs = 30_000): Promise<RedisNode> {
    return pollUntil(
      `Sentinels to fail over from ${previous.name}`,
      async () => {
        const running = this.sentinels.filter((sentinel) => sentinel.isRunning());
        const ports = await Promise.all(running.map((sentinel) => this.sentinelMasterPort(sentinel)));
        const [port] = ports;
        if (port === undefined || port === previous.port || ports.some((other) => other !== port)) return undefined;
        const node = this.dataNodes.find((candidate) => candidate.port === port);
        if (!node) return undefined;
        const role = await node.command('ROLE');
        return Array.isArray(role) && role[0] === 'master' ? node : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  /**
   * Restarts a data node that was killed or stopped. It comes back as a replica of the current
   * master (a former master restarted empty as a master would otherwise hand its empty data
   * set to anyone who reached it before Sentinel reconfigured it).
   */
  async restart(node: RedisNode): Promise<void> {
    if (!node.isSentinel) {
      const master = await this.currentMaster();
      if (master === node) throw new InfraError(`${node.name} is still the master; fail over first`);
      replicaOf.set(node, master.port);
    }
    await node.restart();
  }

  /** Waits until the Sentinels see every replica and each other (a failover needs both). */
  async waitUntilWatched(timeoutMs: number): Promise<void> {
    const replicas = this.dataNodes.length - 1;
    await pollUntil(
      `every Sentinel to see ${replicas} replica(s) and ${this.sentinels.length - 1} other Sentinel(s)`,
      async () => {
        for (const sentinel of this.sentinels) {
          const state = pairsToRecord(await sentinel.command('SENTINEL', 'MASTER', this.masterName));
          if (Number(state['num-slaves']) !== replicas) return undefined;
          if (Number(state['num-other-sentinels']) !== this.sentinels.length - 1) return undefined;
        }
        return true;
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  async stop(): Promise<void> {
    // Sentinels first: stopping the master under a watching Sentinel would start a failover.
    await Promise.all(this.sentinels.map((sentinel) => sentinel.stop()));
    await Promise.all(this.dataNodes.map((node) => node.stop()));
  }

  /** Sentinel's `down-after-milliseconds`, for tests that reason about detection time. */
  get downAfterMilliseconds(): number {
    return this.downAfterMs;
  }

  private async sentinelMasterPort(sentinel: RedisNode): Promise<number> {
    const reply = await sentinel.command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName);
    if (!Array.isArray(reply) || reply.length < 2) throw new InfraError(`${sentinel.name} names no master`);
    return Number(reply[1]);
  }
}

// The master a data node follows when it (re)starts; absent for the node started as master.
const replicaOf = new WeakMap<RedisNode, number>();

/**
 * Starts a Redis master, N replicas and M Sentinels on free loopback ports, and waits until the
 * replicas are in sync and every Sentinel sees all replicas and all other Sentinels.
 */
export async function startRedis(options: RedisGroupOptions): Promise<RedisGroup> {
  const binaries = ensureRedis();
  const replicaCount = options.replicas ?? 2;
  const sentinelCount = options.sentinels ?? 3;
  if (!Number.isInteger(replicaCount) || replicaCount < 0)
    throw new TypeError(`replicas must be >= 0, got ${replicaCount}`);
  if (!Number.isInteger(sentinelCount) || sentinelCount < 0)
    throw new TypeError(`sentinels must be >= 0, got ${sentinelCount}`);
  const masterName = options.masterName ?? DEFAULT_MASTER_NAME;
  const downAfterMs = options.downAfterMs ?? 2_000;
  const failoverTimeoutMs = options.failoverTimeoutMs ?? 5_000;
  const context = nodeContext(options, binaries);

  const dataArgs = (node: RedisNode): string[] => {
    const master = replicaOf.get(node);
    return [
      ...['--bind', '127.0.0.1', '--port', String(node.port), '--dir', node.dataDir],
      // No persistence (throwaway data), and no 5 s wait before a replica's first sync.
      ...['--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0', '--daemonize', 'no'],
      ...(master === undefined ? [] : ['--replicaof', '127.0.0.1', String(master)]),
    ];
  };
  const master = new RedisNode('master', 'redis-master', await freePort(), context, dataArgs);
  const replicas: RedisNode[] = [];
  for (let i = 1; i <= replicaCount; i++) {
    const replica = new RedisNode('replica', `redis-replica${i}`, await freePort(), context, dataArgs);
    replicaOf.set(replica, master.port);
    replicas.push(replica);
  }
  const sentinelArgs = (node: RedisNode): string[] => [join(node.dataDir, 'sentinel.conf'), '--sentinel'];
  const sentinels: RedisNode[] = [];
  for (let i = 1; i <= sentinelCount; i++) {
    sentinels.push(new RedisNode('sentinel', `redis-sentinel${i}`, await freePort(), context, sentinelArgs));
  }

  await master.start();
  await allSettledOrThrow(replicas.map((replica) => replica.start()));
  await pollUntil(
    `${replicaCount} replica(s) to sync with the master`,
    async () => {
      for (const replica of replicas) {
        const info = parseInfo(await replica.command('INFO', 'replication'));
        if (info.master_link_status !== 'up') return undefined;
      }
      return true;
    },
    { timeoutMs: context.startTimeoutMs },
  );

  const quorum = Math.floor(sentinelCount / 2) + 1;
  for (const sentinel of sentinels) {
    // Each Sentinel rewrites its own config (and stores its own id there): never share one.
    mkdirSync(sentinel.dataDir, { recursive: true });
    writeFileSync(
      join(sentinel.dataDir, 'sentinel.conf'),
      [
        `port ${sentinel.port}`,
        'bind 127.0.0.1',
        `dir ${sentinel.dataDir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${master.port} ${quorum}`,
        `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
        `sentinel failover-timeout ${masterName} ${failoverTimeoutMs}`,
        `sentinel parallel-syncs ${masterName} 1`,
        '',
      ].join('\n'),
    );
  }
  await allSettledOrThrow(sentinels.map((sentinel) => sentinel.start()));
  const group = new RedisGroup(masterName, [master, ...replicas], sentinels, downAfterMs);
  if (sentinelCount > 0) await group.waitUntilWatched(context.startTimeoutMs);
  return group;
}
