import { randomFillSync } from 'node:crypto';
import { trace } from '@opentelemetry/api';

/** The W3C Trace Context header carrying a request's trace (https://www.w3.org/TR/trace-context/ section 3.2). */
export const TRACEPARENT_HEADER = 'traceparent';
/** Vendor trace state (section 3.3); passed on unchanged, never interpreted. */
export const TRACESTATE_HEADER = 'tracestate';

/** One request's place in a distributed trace. All ids are lowercase hex. */
export interface TraceContext {
  /** 32 hex digits (16 bytes); shared by every span of the trace. */
  traceId: string;
  /** 16 hex digits (8 bytes): this platform's span for the request. */
  spanId: string;
  /** The caller's span id, when the request carried a valid `traceparent`. */
  parentSpanId?: string;
  /** Trace flags, 2 hex digits (`01` = sampled). */
  flags: string;
  /** The caller's `tracestate`, passed on to downstream calls. */
  traceState?: string;
}

/** Random bytes drawn in bulk: one `randomFillSync` per 341 requests instead of two calls each. */
const POOL = Buffer.alloc(24 * 341);
let poolOffset = POOL.length;

/** `bytes` random bytes as lowercase hex. */
function randomHex(bytes: number): string {
  if (poolOffset + bytes > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  poolOffset += bytes;
  return POOL.toString('hex', poolOffset - bytes, poolOffset);
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * The trace context of an incoming request: continues the caller's trace when `traceparent` is
 * valid (section 3.2.2: version `ff`, all-zero ids, uppercase hex or extra fields on version 00
 * make it invalid), else starts a new trace. Either way a new span id is generated for this hop.
 * When OpenTelemetry tracing is on (src/tracing.ts), the request's server span already did this:
 * its trace and span ids are used, so that the audit record names the exported trace.
 */
export function traceContextFrom(
  traceparent: string | string[] | undefined,
  tracestate?: string | string[],
): TraceContext {
  const active = trace.getActiveSpan()?.spanContext();
  if (active && trace.isSpanContextValid(active)) {
    const state = typeof tracestate === 'string' && tracestate.length <= 512 ? tracestate : undefined;
    return {
      traceId: active.traceId,
      spanId: active.spanId,
      flags: active.traceFlags.toString(16).padStart(2, '0'),
      traceState: state,
    };
  }
  const spanId = randomHex(8);
  const header = typeof traceparent === 'string' ? traceparent.trim() : undefined;
  const match = header === undefined ? null : TRACEPARENT.exec(header);
  if (match) {
    const [, version, traceId, parentSpanId, flags, rest] = match;
    const valid =
      version !== 'ff' &&
      traceId !== ZERO_TRACE &&
      parentSpanId !== ZERO_SPAN &&
      !(version === '00' && rest !== undefined);
    if (valid) {
      const state = typeof tracestate === 'string' && tracestate.length <= 512 ? tracestate : undefined;
      return { traceId, spanId, parentSpanId, flags, traceState: state };
    }
  }
  return { traceId: randomHex(16), spanId, flags: '00' };
}

/** The `traceparent` value naming this platform's span as the parent (for responses and downstream calls). */
export function formatTraceparent(context: TraceContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.flags}`;
}

/**
 * Headers to send on a downstream HTTP call made while serving a request, so the callee joins the
 * same trace (section 3: `traceparent`, and `tracestate` when the caller sent one).
 */
export function outgoingTraceHeaders(context: TraceContext): Record<string, string> {
  const headers: Record<string, string> = { [TRACEPARENT_HEADER]: formatTraceparent(context) };
  if (context.traceState) headers[TRACESTATE_HEADER] = context.traceState;
  return headers;
}
