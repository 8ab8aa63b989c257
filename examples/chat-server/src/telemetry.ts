import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';

/**
 * Starts OpenTelemetry's Node SDK with an OTLP/HTTP trace exporter (`OTEL_EXPORTER_OTLP_ENDPOINT`,
 * and the SDK's other standard `OTEL_*` variables), registered globally: the packages' `telemetry:
 * true` finds it through `@opentelemetry/api`. Call it before creating anything that traces.
 * Returns the shutdown, which flushes the spans still buffered.
 */
export function startTelemetry(serviceName = 'chat-server'): () => Promise<void> {
  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME?.trim() || serviceName,
    traceExporter: new OTLPTraceExporter(),
  });
  sdk.start();
  return () => sdk.shutdown();
}
