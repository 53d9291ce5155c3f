/**
 * OpenTelemetry for both services: the Node SDK, configured only by the standard OTEL_* variables
 * (OTLP over gRPC or HTTP), and off unless an exporter endpoint is configured. Until the SDK starts
 * the OpenTelemetry API is a no-op, so instrumented code costs next to nothing when it is off.
 */
import { metrics } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { observeRuntime } from './runtime.js';

/** True when the environment asks for telemetry to be exported. */
export function telemetryConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').toLowerCase() === 'true') return false;
  return ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT', 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'].some(
    (name) => (env[name] ?? '') !== '',
  );
}

export interface Telemetry {
  readonly enabled: boolean;
  /** Flushes what is buffered and stops exporting. Never throws. */
  shutdown(): Promise<void>;
}

export function startTelemetry(serviceName: string, env: NodeJS.ProcessEnv = process.env): Telemetry {
  if (!telemetryConfigured(env)) return { enabled: false, shutdown: async () => undefined };
  // No automatic instrumentation: spans and attributes are chosen by hand, so that nothing an agent
  // typed can reach an exporter through a library's defaults.
  const sdk = new NodeSDK({ serviceName, instrumentations: [] });
  sdk.start();
  const stopRuntime = observeRuntime(metrics.getMeter('vdiguard.runtime'));
  return {
    enabled: true,
    shutdown: () => {
      stopRuntime();
      return sdk.shutdown().catch(() => undefined);
    },
  };
}
