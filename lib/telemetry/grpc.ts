/** Trace context across gRPC: W3C traceparent in the call's metadata, both ways. */
import { context, propagation, type Context } from '@opentelemetry/api';
import type { Metadata } from '@grpc/grpc-js';

export function injectContext(metadata: Metadata, ctx: Context = context.active()): Metadata {
  propagation.inject(ctx, metadata, { set: (m, key, value) => m.set(key, value) });
  return metadata;
}

export function extractContext(metadata: Metadata): Context {
  return propagation.extract(context.active(), metadata, {
    get: (m, key) => {
      const values = m.get(key);
      return values.length === 0 ? undefined : values.map(String);
    },
    keys: (m) => Object.keys(m.getMap()),
  });
}
