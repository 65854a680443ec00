/**
 * OpenTelemetry tracing, off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: then the OpenTelemetry SDK for Node starts with
 * the http, pg and ioredis instrumentations and exports spans by OTLP/HTTP (the standard
 * `OTEL_*` variables apply: protocol, headers, service name, sampler, batch delay). Imported by
 * main.ts before anything else, because the instrumentations patch modules when they are loaded.
 */
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';

let sdk: NodeSDK | undefined;

if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
  process.env.OTEL_SERVICE_NAME ??= 'identity-platform';
  sdk = new NodeSDK({
    traceExporter: new OTLPTraceExporter(),
    instrumentations: [
      // Probes and scrapes are not worth a trace each.
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) =>
          req.url === '/health/live' || req.url === '/health/ready' || req.url === '/metrics',
      }),
      new PgInstrumentation(),
      new IORedisInstrumentation(),
    ],
    // Traces only: metrics stay on /metrics (Prometheus), logs on stdout.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
}

/** Exports the spans still buffered; resolves at once when tracing is off. */
export async function shutdownTracing(): Promise<void> {
  await sdk?.shutdown().catch(() => undefined);
}
