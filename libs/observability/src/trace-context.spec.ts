import { describe, expect, it } from 'vitest';
import { formatTraceparent, outgoingTraceHeaders, traceContextFrom } from './trace-context';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('W3C trace context', () => {
  it('continues a valid caller trace with a new span of its own', () => {
    const context = traceContextFrom(VALID, 'vendor=abc');
    expect(context.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(context.parentSpanId).toBe('00f067aa0ba902b7');
    expect(context.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(context.spanId).not.toBe('00f067aa0ba902b7');
    expect(context.flags).toBe('01');
    expect(outgoingTraceHeaders(context)).toEqual({
      traceparent: `00-4bf92f3577b34da6a3ce929d0e0e4736-${context.spanId}-01`,
      tracestate: 'vendor=abc',
    });
  });

  it.each([
    ['missing', undefined],
    ['garbage', 'hello'],
    ['all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
    ['all-zero parent id', `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['uppercase hex', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'],
    ['extra field on version 00', `${VALID}-extra`],
  ])('starts a new trace when traceparent is %s', (_name, header) => {
    const context = traceContextFrom(header);
    expect(context.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(context.traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(context.parentSpanId).toBeUndefined();
    expect(formatTraceparent(context)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });

  it('accepts a future version with extra fields (section 3.2.4)', () => {
    expect(traceContextFrom('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever').traceId).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
  });
});
