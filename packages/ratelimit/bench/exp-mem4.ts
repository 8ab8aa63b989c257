import { createMemoryStore, createRateLimiter, fixedWindow } from '@switchboard/ratelimit';

if (process.env.IO) await import('ioredis');
const ours = createRateLimiter({
  store: createMemoryStore(process.env.CONST ? { now: () => 1e12 } : {}),
  algorithm: fixedWindow({ limit: 1e9, windowMs: 3_600_000 }),
});
const keys = Array.from({ length: 10000 }, (_, i) => `user-${i}`);
const hot = ['hot', 'hot'];
const out: string[] = [];
for (let r = 0; r < 3; r++) {
  const N = 5e6;
  let t0 = performance.now();
  for (let i = 0; i < N; i++) ours.consume(keys[i % 10000]!);
  out.push(`10k ${(((performance.now() - t0) * 1e6) / N).toFixed(1)}`);
  t0 = performance.now();
  for (let i = 0; i < N; i++) ours.consume(hot[i & 1]!);
  out.push(`hot ${(((performance.now() - t0) * 1e6) / N).toFixed(1)}`);
}
console.log(out.join(' | '));
