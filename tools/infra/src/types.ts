import type { ProcessRecord } from './process.ts';

/** Connection info for a running topology; what the CLI prints as JSON. */
export interface TopologyInfo {
  postgres?: PostgresInfo;
  redis?: RedisInfo;
  redisCluster?: RedisClusterInfo;
}

export interface PostgresInfo {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust auth on loopback). */
  primary: string;
  /** One URL per streaming replica, in start order. */
  replicas: string[];
}

export interface RedisInfo {
  /** The master at start time; after a failover ask the Sentinels. */
  master: string;
  replicas: string[];
  sentinels: { host: string; port: number }[];
  /** The name the Sentinels monitor the master under. */
  masterName: string;
}

export interface RedisClusterInfo {
  /** Every node in start order (masters first); roles change on failover, so ask the cluster. */
  nodes: { host: string; port: number }[];
}

/** Receives every server process as it is started or restarted, so it can be found again. */
export interface ProcessTracker {
  track(record: ProcessRecord): void;
}
