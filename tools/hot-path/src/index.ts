// The hot-path kit: code several packages need on their fastest paths, written once. It is a
// private workspace that tsup bundles into each package's dist (so every package still installs
// alone); its source reaches users through the source maps. Nothing here is public API: a
// package's public types must never mention it (scripts/check-packages.mjs checks the builds).

export { type ClusterSlotTable, NON_LOCAL_KEY_LUA, nodeOfSlotIn } from './cluster-node-batches.ts';
export { type Deadline, settle, startDeadline, withinDeadline } from './deadlines.ts';
export { CounterSeries, HotCounter, OTHER } from './hot-counter.ts';
export { type WholeNumberRange, wholeNumberOption } from './options.ts';
export { redisSlot } from './redis-slot.ts';
export { defineScript, isNoScriptError, type LuaScript, type ScriptClient, scriptRunner } from './scripts.ts';
export { type PubSubMode, type PubSubPublisher, type PubSubSubscriber, pubSubMode } from './sharded-pubsub.ts';
export { charCodeAt, indexOf, slice, startsWith } from './string-methods.ts';
export {
  type Attributes,
  type AttributeValue,
  type CounterLike,
  failSpan,
  type HistogramLike,
  type InSpanOptions,
  inSpan,
  isValidSpanContext,
  loadOpenTelemetryApi,
  type MeterLike,
  type ObservableCounterLike,
  type ObservableResultLike,
  type OpenTelemetryApi,
  resolveTelemetry,
  SPAN_KIND,
  type SpanContextLike,
  type SpanLike,
  type SpanLinkLike,
  type SpanOptionsLike,
  spanContextFromHeaders,
  type TracerLike,
  traceHeaders,
} from './telemetry.ts';
export { TickClock } from './tick-clock.ts';
export { TurnBatches, type TurnBatchesOptions } from './turn-batches.ts';
