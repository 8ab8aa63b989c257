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
