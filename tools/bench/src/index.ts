/**
 * Side-by-side benchmarks: contenders run in one process, interleaved round by round, each
 * reported by its median round (these machines are shared and noisy).
 */
export interface Measurement {
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

/** One call in this many is timed (and the clock checked): timing every call would cost more than the fastest calls measured. */
const SAMPLE_EVERY = 16;

/**
 * A closed-loop load: `concurrency` workers each await `run` back to back for `durationMs`;
 * latency percentiles come from a uniform sample of the calls.
 */
export async function measure(
  run: (i: number) => Promise<unknown>,
  options: { concurrency: number; durationMs: number },
): Promise<Measurement> {
  const latencies: number[] = [];
  let counter = 0;
  const startedAt = performance.now();
  const deadline = startedAt + options.durationMs;
  const worker = async () => {
    for (let n = 0; ; n++) {
      if (n % SAMPLE_EVERY !== 0) {
        await run(counter++);
        continue;
      }
      const begin = performance.now();
      if (begin >= deadline) return;
      await run(counter++);
      latencies.push(performance.now() - begin);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsed = performance.now() - startedAt;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { opsPerSec: (counter / elapsed) * 1000, p50Ms: at(0.5), p99Ms: at(0.99) };
}

/**
 * Runs every contender `rounds` times, interleaved (A B C A B C ...), and keeps each one's median
 * round. With `warmupMs`, each contender first runs that long unmeasured (JIT, connections,
 * scripts loaded), so the first contender of a process is not measured cold.
 */
export async function compare(
  contenders: Record<string, (i: number) => Promise<unknown>>,
  options: { concurrency: number; durationMs: number; rounds: number; warmupMs?: number },
): Promise<Record<string, Measurement>> {
  if (options.warmupMs) {
    for (const run of Object.values(contenders)) {
      await measure(run, { concurrency: options.concurrency, durationMs: options.warmupMs });
    }
  }
  const runs: Record<string, Measurement[]> = {};
  for (let round = 0; round < options.rounds; round++) {
    for (const [name, run] of Object.entries(contenders)) {
      const list = runs[name] ?? [];
      const measured = await measure(run, options);
      // BENCH_VERBOSE=1: every round on stderr, to see what a median hides.
      if (process.env.BENCH_VERBOSE) {
        process.stderr.write(
          `round ${round + 1} ${name}: ${Math.round(measured.opsPerSec).toLocaleString('en-US')}/s\n`,
        );
      }
      list.push(measured);
      runs[name] = list;
    }
  }
  return medianRounds(runs);
}

/** A synchronous call measured in a tight loop: no promise or timer per call. */
export interface SyncMeasurement {
  opsPerSec: number;
  nsPerOp: number;
}

let sink = 0;

/**
 * Calls `run` back to back for `durationMs` (checking the clock every `batch` calls). For
 * in-memory checks whose cost would otherwise vanish under the harness's own per-call promise.
 */
export function measureSync(
  run: (i: number) => unknown,
  options: { durationMs: number; batch?: number },
): SyncMeasurement {
  const batch = options.batch ?? 1_000;
  let calls = 0;
  const startedAt = performance.now();
  const deadline = startedAt + options.durationMs;
  while (performance.now() < deadline) {
    for (let i = 0; i < batch; i++) {
      // Results feed a sink so the engine cannot drop the call as dead code.
      if (run(calls + i)) sink++;
    }
    calls += batch;
  }
  const elapsedMs = performance.now() - startedAt;
  return { opsPerSec: (calls / elapsedMs) * 1000, nsPerOp: (elapsedMs * 1e6) / calls };
}

/** `compare` for synchronous calls: interleaved rounds, each contender's median round. */
export function compareSync(
  contenders: Record<string, (i: number) => unknown>,
  options: { durationMs: number; rounds: number; batch?: number },
): Record<string, SyncMeasurement> {
  const runs: Record<string, SyncMeasurement[]> = {};
  for (let round = 0; round < options.rounds; round++) {
    for (const [name, run] of Object.entries(contenders)) {
      const list = runs[name] ?? [];
      list.push(measureSync(run, options));
      runs[name] = list;
    }
  }
  if (sink === -1) process.stdout.write('');
  return medianRounds(runs);
}

/** Each contender's median round by throughput. */
function medianRounds<M extends { opsPerSec: number }>(runs: Record<string, M[]>): Record<string, M> {
  const medians: Record<string, M> = {};
  for (const [name, list] of Object.entries(runs)) {
    const sorted = [...list].sort((a, b) => a.opsPerSec - b.opsPerSec);
    medians[name] = sorted[Math.floor(sorted.length / 2)] as M;
  }
  return medians;
}
