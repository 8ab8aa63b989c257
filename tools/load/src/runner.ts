import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpuWindow } from './cpu.ts';
import type { ParentMessage, WorkerConfig, WorkerMessage, WorkerResult, Workload } from './workload.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface OpenLoopOptions {
  workload: Workload;
  /** Requests per second, all workers together. */
  rate: number;
  /** The measured window. */
  durationMs: number;
  /** Sent before the window, not measured (JIT, pools, caches): the rate ramps up over its first half, then holds. */
  warmupMs: number;
  /** Source addresses the simulated users are spread over. */
  addresses: string[];
  /** Load-generator processes. @default 1 */
  workers?: number;
  /** Connections per (source address, endpoint). @default 8 */
  connections?: number;
  /** A request unanswered this long is an error. @default 30000 */
  timeoutMs?: number;
  /** @default 1 */
  seed?: number;
  /** Ends the run at once (the workers are killed; the run rejects). */
  signal?: AbortSignal;
}

/** One request as the runner saw it. */
export interface RequestRecord {
  /** Due time, ms after the start of the measured window (negative: warm-up). */
  at: number;
  latencyMs: number;
  lateMs: number;
  /** undefined: success. */
  error: string | undefined;
  /** The `ack` value of a success (e.g. the message id). */
  ack: string | undefined;
}

export interface OpenLoopRun {
  rate: number;
  durationMs: number;
  /** Requests due inside the measured window, in due order. */
  requests: RequestRecord[];
  /** CPU time of the system under test over the window (its requests answered), ms, by role. */
  cpuMs: Record<string, number>;
  /** Wall time from the window's start until its last answer, ms. */
  elapsedMs: number;
  workers: number;
  /** The generator's CPU over the window, in % of one core. */
  generatorCpuPercent: number;
  /** Every other process on the machine over the window (neither measured nor the generator), in % of one core. */
  otherCpuPercent: number;
}

/**
 * Sends `rate` requests per second for `warmupMs + durationMs`, spread over `workers` processes
 * that share one start time and interleave their schedules. CPU of the system under test is
 * sampled when the window opens and once every answer is in.
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopRun> {
  const workers = options.workers ?? 1;
  if (!(options.rate > 0)) throw new TypeError(`the rate must be > 0, got ${options.rate}`);
  if (options.workload.templates.length === 0) throw new Error('the workload has no requests');
  if (options.signal?.aborted) throw new Error('stopped');
  const children = Array.from({ length: workers }, () =>
    fork(WORKER, [], { execArgv: ['--import', TSX_LOADER], serialization: 'advanced', stdio: 'inherit' }),
  );
  const abort = () => {
    for (const child of children) child.kill('SIGKILL');
  };
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    const configs: WorkerConfig[] = children.map((_, index) => ({
      index,
      workers,
      urls: options.workload.urls,
      tokens: options.workload.tokens,
      templates: options.workload.templates,
      addresses: options.addresses,
      rate: options.rate / workers,
      totalMs: options.warmupMs + options.durationMs,
      warmupMs: options.warmupMs,
      connections: options.connections ?? 8,
      timeoutMs: options.timeoutMs ?? 30_000,
      seed: options.seed ?? 1,
    }));
    await Promise.all(
      children.map((child, index) => {
        const ready = next(child, 'ready');
        post(child, { type: 'setup', config: configs[index] as WorkerConfig });
        return ready;
      }),
    );
    const startAt = Date.now() + 200;
    const results = children.map((child) => next(child, 'done'));
    for (const child of children) post(child, { type: 'go', startAt });
    const generator = children.flatMap((child) => (child.pid ? [child.pid] : []));
    const window = cpuWindow(() => options.workload.processes(), generator, startAt + options.warmupMs);
    const done = (await Promise.all(results)).map((message) => (message as { result: WorkerResult }).result);
    const cpu = await window.end();

    const requests: RequestRecord[] = [];
    let lastAnswer = options.durationMs;
    for (const result of done) {
      const acks = new Map<number, string>();
      for (let i = 0; i < result.ackIndex.length; i++)
        acks.set(result.ackIndex[i] as number, result.ackValue[i] as string);
      for (let k = 0; k < result.scheduled.length; k++) {
        const at = (result.scheduled[k] as number) - options.warmupMs;
        // (A due time computed on the window's edge may be off by a rounding error.)
        if (at < -1e-6 || at >= options.durationMs - 1e-6) continue;
        const outcome = result.outcome[k] as number;
        const latencyMs = result.latency[k] as number;
        lastAnswer = Math.max(lastAnswer, at + latencyMs);
        requests.push({
          at,
          latencyMs,
          lateMs: result.late[k] as number,
          error: outcome === 0 ? undefined : result.errorKinds[outcome - 1],
          ack: acks.get(k),
        });
      }
    }
    requests.sort((a, b) => a.at - b.at);
    return {
      rate: options.rate,
      durationMs: options.durationMs,
      requests,
      elapsedMs: lastAnswer,
      workers,
      ...cpu,
    };
  } finally {
    options.signal?.removeEventListener('abort', abort);
    for (const child of children) if (child.connected) child.disconnect();
  }
}

function post(child: ChildProcess, message: ParentMessage): void {
  child.send(message);
}

/** The worker's next message of `type`; rejects if it fails or exits first. */
function next(child: ChildProcess, type: WorkerMessage['type']): Promise<WorkerMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: WorkerMessage) => {
      if (message.type === 'failed') {
        cleanup();
        reject(new Error(`load worker failed: ${message.error}`));
      } else if (message.type === type) {
        cleanup();
        resolve(message);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`load worker exited (${code}) before '${type}'`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
