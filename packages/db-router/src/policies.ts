/** How reads are spread over the replicas that may serve them. */
export type RoutingPolicy = 'round-robin' | 'least-in-flight';

/** What a policy needs to know of a node. */
export interface Candidate {
  readonly inFlight: number;
}

/**
 * Picks one node of `nodes` that `eligible` accepts, or `undefined`. `cursor` is a counter the
 * caller increments per pick: it rotates the starting point, so round robin cycles and
 * least-in-flight spreads ties. No allocation: this runs on every read.
 */
export function pickNode<N extends Candidate>(
  policy: RoutingPolicy,
  nodes: readonly N[],
  cursor: number,
  eligible: (node: N) => boolean,
): N | undefined {
  const count = nodes.length;
  if (count === 0) return undefined;
  const start = cursor % count;
  if (policy === 'round-robin') {
    for (let offset = 0; offset < count; offset++) {
      const node = nodes[(start + offset) % count] as N;
      if (eligible(node)) return node;
    }
    return undefined;
  }
  let best: N | undefined;
  for (let offset = 0; offset < count; offset++) {
    const node = nodes[(start + offset) % count] as N;
    if ((best === undefined || node.inFlight < best.inFlight) && eligible(node)) best = node;
  }
  return best;
}

/** What read-your-writes routing needs to know of a replica. */
export interface ReplayCandidate extends Candidate {
  readonly state: string;
  /** The replay position last seen on it (`undefined`: not known yet). */
  readonly lsn: bigint | undefined;
}

/**
 * Picks a replica that may serve a read carrying a causal token for `lsn`: in rotation
 * (`healthy`) and known to have replayed at least that far. `undefined` when none is: the
 * router then asks the most advanced one, or reads the primary. A replica behind the token
 * must never be picked: the read would miss the reader's own write.
 */
export function pickReplayed<N extends ReplayCandidate>(
  policy: RoutingPolicy,
  replicas: readonly N[],
  cursor: number,
  lsn: bigint,
): N | undefined {
  return pickNode(
    policy,
    replicas,
    cursor,
    (node) => node.state === 'healthy' && node.lsn !== undefined && node.lsn >= lsn,
  );
}
