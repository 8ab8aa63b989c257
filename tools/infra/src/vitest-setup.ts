import type { TestProject } from 'vitest/node';
import { startTopology } from './topology.ts';
import type { TopologyInfo } from './types.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /**
     * The shared topology of the integration project: Postgres primary + 2 replicas, Redis + 2
     * replicas + 3 Sentinels, and a Redis Cluster of 3 masters with a replica each.
     */
    infra: TopologyInfo;
  }
}

/**
 * vitest global setup of the integration project: one shared topology for all its files, handed
 * to them with `inject('infra')`. Files isolate themselves with `createTestDatabase` and
 * `testKeyPrefix`; tests that break servers start their own topology instead.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const startedAt = Date.now();
  const topology = await startTopology({
    postgres: { replicas: 2 },
    redis: { replicas: 2, sentinels: 3 },
    // For the stores' contract suites on a cluster (the integration project's; drills that kill
    // nodes start their own).
    redisCluster: project.name === 'integration' ? { masters: 3, replicasPerMaster: 1 } : false,
  });
  process.stderr.write(`[infra] shared topology up in ${Date.now() - startedAt} ms (${topology.dir})\n`);
  project.provide('infra', topology.info);
  return () => topology.stop();
}
