import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, test } from 'vitest';
import { HotCounter, OTHER } from './hot-counter.ts';
import type { MeterLike } from './telemetry.ts';

class OnDemandReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** A real SDK meter and what its reader collects, as `name outcome value` lines. */
function sdkMeter() {
  const reader = new OnDemandReader();
  const meter = new MeterProvider({ readers: [reader] }).getMeter('test') as unknown as MeterLike;
  const collect = async () => {
    const { resourceMetrics } = await reader.collect();
    return resourceMetrics.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .flatMap((metric) =>
        metric.dataPoints.map(
          (point) => `${metric.descriptor.name} ${point.attributes.name} ${point.attributes.outcome} ${point.value}`,
        ),
      )
      .sort();
  };
  return { meter, collect };
}

const options = { description: 'checks', unit: '{check}' };
const attributesFor = (outcome: string) => (name: string) => ({ name, outcome });

describe('HotCounter', () => {
  test('adds reach the SDK as a cumulative sum per series when it collects', async () => {
    const { meter, collect } = sdkMeter();
    const counter = HotCounter.of(meter, 'checks', options);
    const allowed = counter.series('login', 'allowed', attributesFor('allowed'));
    const refused = counter.series('login', 'refused', attributesFor('refused'));
    expect(counter.series('login', 'allowed', attributesFor('allowed'))).toBe(allowed);
    allowed.add();
    allowed.add();
    refused.add(3);
    expect(await collect()).toEqual(['checks login allowed 2', 'checks login refused 3']);
    allowed.add();
    expect(await collect()).toEqual(['checks login allowed 3', 'checks login refused 3']);
  });

  test('one counter per meter and name: two owners add to the same series instead of overwriting', async () => {
    const { meter, collect } = sdkMeter();
    const first = HotCounter.of(meter, 'checks', options).series('send', 'allowed', attributesFor('allowed'));
    const second = HotCounter.of(meter, 'checks', options).series('send', 'allowed', attributesFor('allowed'));
    expect(second).toBe(first);
    first.add();
    second.add();
    expect(await collect()).toEqual(['checks send allowed 2']);
    // Another meter (another SDK) has counters of its own.
    const other = sdkMeter();
    HotCounter.of(other.meter, 'checks', options).series('send', 'allowed', attributesFor('allowed')).add();
    expect(await other.collect()).toEqual(['checks send allowed 1']);
    expect(await collect()).toEqual(['checks send allowed 2']);
  });

  test('past maxNames, new names share the overflow series of OTHER, per variant; known names keep theirs', async () => {
    const { meter, collect } = sdkMeter();
    const counter = HotCounter.of(meter, 'bounded', options, 2);
    counter.series('a', 'allowed', attributesFor('allowed')).add();
    counter.series('b', 'refused', attributesFor('refused')).add();
    const overflowAllowed = counter.series('c', 'allowed', attributesFor('allowed'));
    const overflowRefused = counter.series('d', 'refused', attributesFor('refused'));
    expect([overflowAllowed.overflow, overflowRefused.overflow]).toEqual([true, true]);
    expect(overflowAllowed.attributes).toEqual({ name: OTHER, outcome: 'allowed' });
    expect(counter.series('e', 'allowed', attributesFor('allowed'))).toBe(overflowAllowed);
    overflowAllowed.add();
    overflowRefused.add();
    // A known name's other variant is still its own series.
    const known = counter.series('a', 'refused', attributesFor('refused'));
    expect(known.overflow).toBe(false);
    known.add();
    expect(await collect()).toEqual([
      'bounded _OTHER allowed 1',
      'bounded _OTHER refused 1',
      'bounded a allowed 1',
      'bounded a refused 1',
      'bounded b refused 1',
    ]);
  });

  test('series that never counted are not reported', async () => {
    const { meter, collect } = sdkMeter();
    HotCounter.of(meter, 'idle', options).series('x', 'allowed', attributesFor('allowed'));
    expect(await collect()).toEqual([]);
  });
});
