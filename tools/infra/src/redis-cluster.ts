import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureRedis } from './binaries.ts';
import { InfraError } from './errors.ts';
import { freePort } from './ports.ts';
import { allSettledOrThrow, logTail, pollUntil } from './process.ts';
import { RedisNode } from './redis.ts';
import { parseInfo, type RespValue } from './resp.ts';
import { type ClusterStartOptions, nodeContext } from './server-node.ts';
import type { RedisClusterInfo } from './types.ts';

/** Hash slots of every Redis Cluster; a healthy cluster serves all of them. */
export const CLUSTER_SLOTS = 16_384;

export interface RedisClusterOptions extends ClusterStartOptions {
  /**
   * Masters; the slots are split evenly among them. A failover needs the votes of a majority of
   * masters, so `waitForFailover` needs at least 3.
   * @default 3
   */
  masters?: number;
  /** Replicas of each master. @default 1 */
  replicasPerMaster?: number;
  /**
   * `cluster-node-timeout`: how long a node may be unreachable before the others mark it failed
   * and its replica takes over (measured here: a killed master's replica is master ~4 s later
   * at 2000).
   * @default 2000
   */
  nodeTimeoutMs?: number;
}

/** One master's share of the cluster, as a running node reports it. */
export interface RedisClusterShard {
  master: RedisNode;
  /** Every node the cluster lists as a replica of `master`, running or not. */
  replicas: RedisNode[];
  /** Inclusive slot ranges `[first, last]`, ascending. */
  slots: [number, number][];
}

/** One line of CLUSTER NODES. */
interface ViewEntry {
  id: string;
  flags: string[];
  /** The master's id, for a replica. */
  masterId: string | undefined;
  linkState: string;
  slots: [number, number][];
}

/**
 * A Redis Cluster on 127.0.0.1: masters that split the 16384 hash slots, each with its replicas.
 * Roles change on failover, so ask the cluster (`masters()`, `replicasOf()`, `shards()`) rather
 * than the start order.
 */
export class RedisCluster {
  // The last view in which the cluster was healthy (or just failed over): what a master served
  // before a failure that `waitForFailover` is asked about too late to see.
  private lastGoodView: ViewEntry[] | undefined;
  private readonly nodesById: Map<string, RedisNode>;

  constructor(
    /** Every node, in start order: the masters first, then the replicas of master 1, of master 2, ... */
    readonly nodes: RedisNode[],
    private readonly ids: Map<RedisNode, string>,
    private readonly masterCount: number,
    private readonly nodeTimeoutMs: number,
    private readonly healthyTimeoutMs: number,
  ) {
    this.nodesById = new Map([...ids].map(([node, id]) => [id, node]));
  }

  /** Where the nodes listen; give any of them to a cluster client as a seed. */
  info(): RedisClusterInfo {
    return { nodes: this.nodes.map((node) => ({ host: node.host, port: node.port })) };
  }

  /** `cluster-node-timeout`, for tests that reason about detection time. */
  get nodeTimeoutMilliseconds(): number {
    return this.nodeTimeoutMs;
  }

  /** The cluster's node id of `node` (kept in its nodes.conf, so the same after a restart). */
  nodeId(node: RedisNode): string {
    const id = this.ids.get(node);
    if (id === undefined) throw new InfraError(`${node.name} is not a node of this cluster`);
    return id;
  }

  /** Masters serving slots, with their replicas and slot ranges, ordered by first slot. */
  async shards(): Promise<RedisClusterShard[]> {
    return this.shardsOf(await this.view());
  }

  /** The nodes currently serving slots as masters, ordered by first slot. */
  async masters(): Promise<RedisNode[]> {
    return (await this.shards()).map((shard) => shard.master);
  }

  /** The nodes the cluster currently lists as replicas of `node` (running or not). */
  async replicasOf(node: RedisNode): Promise<RedisNode[]> {
    const id = this.nodeId(node);
    return (await this.view())
      .filter((entry) => entry.flags.includes('slave') && entry.masterId === id)
      .map((entry) => this.nodeFor(entry.id));
  }

  /** The master currently serving `slot` (see `CLUSTER KEYSLOT` for a key's slot). */
  async masterForSlot(slot: number): Promise<RedisNode> {
    const owner = servingMaster(await this.view(), slot);
    if (!owner) throw new InfraError(`no master serves slot ${slot}`);
    return this.nodeFor(owner.id);
  }

  /**
   * Waits until every running, unpaused node says `cluster_state:ok` with all 16384 slots served,
   * sees every other such node connected and not failed, all agree who serves which slot and who
   * replicates whom, and every replica among them has `master_link_status:up`. Start drills
   * from here: a replica whose link was down too long before its master fails refuses to take
   * over ("Disconnected from master for longer than allowed").
   *
   * @param timeoutMs @default the start timeout (30000)
   * @param signal ends the wait at once (a start being aborted)
   */
  async waitUntilHealthy(timeoutMs = this.healthyTimeoutMs, signal?: AbortSignal): Promise<void> {
    let last = 'no answer yet';
    const view = await pollUntil(
      'the Redis Cluster to be healthy (cluster_state:ok on every running node, all slots served, replicas linked)',
      async () => {
        const reachable = this.nodes.filter((node) => node.isReachable());
        if (reachable.length === 0) throw new InfraError('no Redis Cluster node is running');
        let agreed: { view: ViewEntry[]; shape: string; from: RedisNode } | undefined;
        for (const node of reachable) {
          const state = parseInfo(await node.command('CLUSTER', 'INFO'));
          if (state.cluster_state !== 'ok' || Number(state.cluster_slots_ok) !== CLUSTER_SLOTS) {
            last = `${node.name}: cluster_state:${state.cluster_state}, cluster_slots_ok:${state.cluster_slots_ok}`;
            return undefined;
          }
          const view = parseClusterNodes(await node.command('CLUSTER', 'NODES'));
          for (const other of reachable) {
            const entry = view.find((candidate) => candidate.id === this.nodeId(other));
            const bad = !entry || entry.flags.some((flag) => UNHEALTHY_FLAGS.has(flag));
            if (bad || (!entry.flags.includes('myself') && entry.linkState !== 'connected')) {
              last = `${node.name} sees ${other.name} as ${entry ? `${entry.flags.join(',')} ${entry.linkState}` : 'unknown'}`;
              return undefined;
            }
          }
          const shape = clusterShape(view);
          if (agreed && agreed.shape !== shape) {
            last = `${node.name} and ${agreed.from.name} disagree on who serves which slots or replicates whom`;
            return undefined;
          }
          agreed ??= { view, shape, from: node };
          if (view.find((entry) => entry.flags.includes('myself'))?.flags.includes('slave')) {
            const replication = parseInfo(await node.command('INFO', 'replication'));
            if (replication.master_link_status !== 'up') {
              last = `${node.name}: master_link_status:${replication.master_link_status}`;
              return undefined;
            }
          }
        }
        return agreed?.view;
      },
      { timeoutMs, intervalMs: 50, signal, onTimeout: () => `last seen: ${last}` },
    );
    this.lastGoodView = view;
  }

  /**
   * After `node` (a master) was killed or paused: waits until one of its replicas serves its
   * slots, every running node agrees and says `cluster_state:ok`, and the replica says it is a
   * master. Returns the promoted node.
   *
   * @param timeoutMs @default 30000
   */
  async waitForFailover(previous: RedisNode, timeoutMs = 30_000): Promise<RedisNode> {
    if (this.masterCount < 3) {
      throw new InfraError(
        `a failover needs the votes of a majority of masters; this cluster has ${this.masterCount}: start at least 3`,
      );
    }
    const previousId = this.nodeId(previous);
    // Before the promotion the cluster still names `previous` as master; once it is done, only
    // the last good view remembers what `previous` served.
    const current = await this.view().catch(() => undefined);
    const before = [current, this.lastGoodView].find((view) =>
      view?.some((entry) => entry.id === previousId && isServingMaster(entry)),
    );
    const slot = before?.find((entry) => entry.id === previousId)?.slots[0]?.[0];
    if (!before || slot === undefined) {
      throw new InfraError(
        `${previous.name} serves no slots: it is not a master, so no replica will take over from it`,
      );
    }
    const replicas = before
      .filter((entry) => entry.flags.includes('slave') && entry.masterId === previousId)
      .map((entry) => this.nodeFor(entry.id));
    if (replicas.length === 0) throw new InfraError(`${previous.name} has no replica to take over its slots`);
    let last = 'no answer yet';
    const promoted = await pollUntil(
      `a replica of ${previous.name} (${replicas.map((node) => node.name).join(', ')}) to take over slot ${slot} and cluster_state:ok on every running node`,
      async () => {
        let owner: string | undefined;
        for (const node of this.nodes.filter((candidate) => candidate.isReachable())) {
          const state = parseInfo(await node.command('CLUSTER', 'INFO')).cluster_state;
          const serving = servingMaster(parseClusterNodes(await node.command('CLUSTER', 'NODES')), slot)?.id;
          if (state !== 'ok' || serving === undefined || serving === previousId || (owner && owner !== serving)) {
            const who = serving === undefined ? 'nobody' : (this.nodesById.get(serving)?.name ?? serving);
            last = `${node.name}: cluster_state:${state}, slot ${slot} served by ${who}`;
            return undefined;
          }
          owner = serving;
        }
        const node = owner === undefined ? undefined : this.nodesById.get(owner);
        if (!node) return undefined;
        const role = await node.command('ROLE');
        return Array.isArray(role) && role[0] === 'master' ? node : undefined;
      },
      {
        timeoutMs,
        intervalMs: 100,
        onTimeout: () =>
          [
            `last seen: ${last}`,
            'A replica refuses to take over when its link to the master was down too long before the failure (cluster-replica-validity-factor): start drills after waitUntilHealthy().',
            ...replicas.map((node) => `${node.name}:\n${safeLogTail(node)}`),
          ].join('\n'),
      },
    );
    this.lastGoodView = await this.view().catch(() => this.lastGoodView);
    return promoted;
  }

  /**
   * Restarts a node that was killed or stopped (same port, node id and config; no data) and
   * waits until the cluster is healthy again. A master that was failed over comes back as a
   * replica of the node that replaced it.
   */
  async restart(node: RedisNode): Promise<void> {
    await node.restart();
    await this.waitUntilHealthy();
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }

  /** CLUSTER NODES of the first running, unpaused node that answers. */
  private async view(): Promise<ViewEntry[]> {
    let lastError: unknown;
    for (const node of this.nodes.filter((candidate) => candidate.isReachable())) {
      try {
        return parseClusterNodes(await node.command('CLUSTER', 'NODES'));
      } catch (error) {
        lastError = error;
      }
    }
    throw new InfraError('no running Redis Cluster node answers CLUSTER NODES', undefined, { cause: lastError });
  }

  private shardsOf(view: ViewEntry[]): RedisClusterShard[] {
    return view
      .filter(isServingMaster)
      .sort((a, b) => (a.slots[0]?.[0] ?? 0) - (b.slots[0]?.[0] ?? 0))
      .map((entry) => ({
        master: this.nodeFor(entry.id),
        replicas: view
          .filter((other) => other.flags.includes('slave') && other.masterId === entry.id)
          .map((other) => this.nodeFor(other.id)),
        slots: entry.slots,
      }));
  }

  private nodeFor(id: string): RedisNode {
    const node = this.nodesById.get(id);
    if (!node) throw new InfraError(`the cluster lists node ${id}, which is none of ours`);
    return node;
  }
}

const UNHEALTHY_FLAGS = new Set(['fail', 'fail?', 'handshake', 'noaddr']);

/**
 * Starts a Redis Cluster on free loopback ports (masters first, then each master's replicas)
 * and waits until it is healthy (see `RedisCluster.waitUntilHealthy`).
 *
 * The cluster is made with CLUSTER commands, not `redis-cli --cluster create`: that tool
 * assigns replicas to masters by its own anti-affinity shuffle (all nodes share one host),
 * polls the join once a second, and needs a second binary; here node N+1 is a replica of
 * master 1 by construction, and the join is polled every 50 ms.
 *
 * @example
 * const cluster = await startRedisCluster({ dir: '/tmp/x', masters: 3, replicasPerMaster: 1 });
 * const [master] = await cluster.masters();
 * await master.kill();
 * const promoted = await cluster.waitForFailover(master);
 * await cluster.restart(master); // back as a replica of `promoted`
 * await cluster.stop();
 */
export async function startRedisCluster(options: RedisClusterOptions): Promise<RedisCluster> {
  const masterCount = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2_000;
  if (!Number.isInteger(masterCount) || masterCount < 1 || masterCount > CLUSTER_SLOTS) {
    throw new TypeError(`masters must be a whole number from 1 to ${CLUSTER_SLOTS}, got ${masterCount}`);
  }
  if (!Number.isInteger(replicasPerMaster) || replicasPerMaster < 0) {
    throw new TypeError(`replicasPerMaster must be a whole number >= 0, got ${replicasPerMaster}`);
  }
  if (!Number.isInteger(nodeTimeoutMs) || nodeTimeoutMs < 1) {
    throw new TypeError(`nodeTimeoutMs must be a whole number > 0, got ${nodeTimeoutMs}`);
  }
  const binaries = ensureRedis();
  requireClusterSupport(binaries.redisServer);
  const context = nodeContext(options, binaries);

  // The bus port must be given: the default (port + 10000) overflows for most free ports.
  const busPorts = new WeakMap<RedisNode, number>();
  const args = (node: RedisNode): string[] => [
    ...['--bind', '127.0.0.1', '--port', String(node.port), '--dir', node.dataDir],
    ...['--cluster-enabled', 'yes', '--cluster-config-file', join(node.dataDir, 'nodes.conf')],
    ...['--cluster-port', String(busPorts.get(node)), '--cluster-node-timeout', String(nodeTimeoutMs)],
    // No persistence (throwaway data), and no 5 s wait before a replica's first sync.
    ...['--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0', '--daemonize', 'no'],
  ];
  const total = masterCount * (1 + replicasPerMaster);
  const nodes: RedisNode[] = [];
  for (let i = 0; i < total; i++) {
    const role = i < masterCount ? 'master' : 'replica';
    const node = new RedisNode(role, `redis-cluster-node${i + 1}`, await freePort(), context, args);
    busPorts.set(node, await freePort());
    nodes.push(node);
  }
  const masters = nodes.slice(0, masterCount);
  const replicas = nodes.slice(masterCount);

  try {
    await allSettledOrThrow(nodes.map((node) => node.start()));
    const ids = await Promise.all(nodes.map(async (node) => String(await node.command('CLUSTER', 'MYID'))));
    const idOf = new Map(nodes.map((node, index) => [node, ids[index] ?? '']));
    // Distinct epochs before the nodes meet, as redis-cli does: no epoch collisions to resolve.
    await Promise.all(nodes.map((node, index) => node.command('CLUSTER', 'SET-CONFIG-EPOCH', String(index + 1))));
    await Promise.all(
      slotRanges(masterCount).map(([first, last], index) =>
        masters[index]?.command('CLUSTER', 'ADDSLOTSRANGE', String(first), String(last)),
      ),
    );
    const [first] = nodes;
    if (!first) throw new InfraError('a Redis Cluster needs nodes');
    await Promise.all(
      nodes
        .slice(1)
        .map((node) => first.command('CLUSTER', 'MEET', '127.0.0.1', String(node.port), String(busPorts.get(node)))),
    );
    await pollUntil(
      `every Redis Cluster node to know all ${total}`,
      async () => {
        for (const node of nodes) {
          const view = parseClusterNodes(await node.command('CLUSTER', 'NODES'));
          const joined = view.filter((entry) => !entry.flags.includes('handshake') && !entry.flags.includes('noaddr'));
          if (joined.length !== total) return undefined;
        }
        return true;
      },
      { timeoutMs: context.startTimeoutMs, intervalMs: 50, signal: context.signal },
    );
    await Promise.all(
      replicas.map((node, index) =>
        node.command('CLUSTER', 'REPLICATE', ids[Math.floor(index / replicasPerMaster)] ?? ''),
      ),
    );
    const cluster = new RedisCluster(nodes, idOf, masterCount, nodeTimeoutMs, context.startTimeoutMs);
    await cluster.waitUntilHealthy(context.startTimeoutMs, context.signal);
    return cluster;
  } catch (error) {
    await Promise.allSettled(nodes.map((node) => node.stop()));
    throw error;
  }
}

/** The slot ranges of `masters` masters, split as `redis-cli --cluster create` does. */
export function slotRanges(masters: number): [number, number][] {
  const perMaster = CLUSTER_SLOTS / masters;
  const ranges: [number, number][] = [];
  let first = 0;
  let cursor = 0;
  for (let index = 0; index < masters; index++) {
    let last = Math.round(cursor + perMaster - 1);
    if (last > CLUSTER_SLOTS - 1 || index === masters - 1) last = CLUSTER_SLOTS - 1;
    if (last < first) last = first;
    ranges.push([first, last]);
    cursor += perMaster;
    first = last + 1;
  }
  return ranges;
}

/** Parses CLUSTER NODES (one node a line: id addr flags master ping pong epoch link slots...). */
function parseClusterNodes(reply: RespValue): ViewEntry[] {
  return String(reply)
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id = '', , flags = '', master = '-', , , , linkState = '', ...slots] = line.trim().split(' ');
      return {
        id,
        flags: flags.split(','),
        masterId: master === '-' ? undefined : master,
        linkState,
        slots: slots
          // `[slot->-id]` / `[slot-<-id]`: a migration in progress, not a slot served.
          .filter((slot) => !slot.startsWith('['))
          .map((slot): [number, number] => {
            const [from, to] = slot.split('-').map(Number);
            return [from ?? 0, to ?? from ?? 0];
          }),
      };
    });
}

function isServingMaster(entry: ViewEntry): boolean {
  return entry.flags.includes('master') && entry.slots.length > 0;
}

function servingMaster(view: ViewEntry[], slot: number): ViewEntry | undefined {
  return view.find((entry) => isServingMaster(entry) && entry.slots.some(([from, to]) => slot >= from && slot <= to));
}

/** Who serves which slots and who replicates whom, as one comparable string. */
function clusterShape(view: ViewEntry[]): string {
  const masters = view
    .filter(isServingMaster)
    .map((entry) => `${entry.id}:${entry.slots.map(([from, to]) => `${from}-${to}`).join(',')}`);
  const replicas = view
    .filter((entry) => entry.flags.includes('slave'))
    .map((entry) => `${entry.id}>${entry.masterId}`);
  return [...masters, ...replicas].sort().join(' ');
}

function safeLogTail(node: RedisNode): string {
  try {
    return logTail(node.record.logFile, 8);
  } catch {
    return '(never started)';
  }
}

const checkedBinaries = new Set<string>();

/** `--cluster-port` and CLUSTER ADDSLOTSRANGE need Redis 7.0; fail with one line before starting anything. */
function requireClusterSupport(redisServer: string): void {
  if (checkedBinaries.has(redisServer)) return;
  const version = /v=(\d+)\.(\d+)/.exec(execFileSync(redisServer, ['--version'], { encoding: 'utf8' }));
  if (!version || Number(version[1]) < 7) {
    throw new InfraError(
      `a Redis Cluster needs redis-server 7.0 or later; ${redisServer} is ${version?.[0] ?? 'unknown'}`,
    );
  }
  checkedBinaries.add(redisServer);
}
