import type { NodeState, RouterNode } from './nodes.ts';
import type { Settings } from './options.ts';

/** What the router tells a logger. Listener errors are swallowed: they never break routing. */
export type DbRouterEvent =
  | {
      type: 'node-state';
      node: string;
      role: 'primary' | 'replica';
      from: NodeState;
      to: NodeState;
      /** Why: `'health-check'`, `'read-error'`. */
      reason: 'health-check' | 'read-error';
      lagMs?: number;
      lagBytes?: number;
      error?: unknown;
    }
  | { type: 'read-retried'; from: string; to: string; error: unknown }
  | { type: 'invalid-token'; token: string };

/** The router's monotonic clock: wall-clock jumps must not reorder observations. */
export const now = () => performance.now();

/**
 * What health checks, read routing and token capture share: the nodes, the settings, whether
 * the router is closed, and the one way a node's state changes (so that every change is
 * reported, whichever part saw it).
 */
export class Cluster {
  closed = false;

  constructor(
    readonly primary: RouterNode,
    readonly replicas: readonly RouterNode[],
    readonly settings: Settings,
    private readonly onEvent: ((event: DbRouterEvent) => void) | undefined,
  ) {}

  emit(event: DbRouterEvent): void {
    if (!this.onEvent) return;
    try {
      this.onEvent(event);
    } catch {
      // A failing logger must not break routing.
    }
  }

  setState(
    node: RouterNode,
    to: NodeState,
    reason: 'health-check' | 'read-error',
    details: { error?: unknown; lagMs?: number; lagBytes?: number },
  ): void {
    if (details.error !== undefined) node.lastError = errorMessage(details.error);
    const from = node.state;
    if (from === to) return;
    node.state = to;
    this.emit({ type: 'node-state', node: node.name, role: node.role, from, to, reason, ...details });
  }

  /** A read or probe lost its connection: out of rotation until a check started after now says otherwise. */
  markDown(node: RouterNode, error: unknown): void {
    node.downAt = now();
    this.setState(node, 'down', 'read-error', { error });
  }
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
