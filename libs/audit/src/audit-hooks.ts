import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AppRegistry, REQUEST_ID_HEADER, requestState } from '@platform/http';
import { traceContextFrom, type PlatformMetrics } from '@platform/observability';
import type { AuditWriter } from './audit-writer';
import type { NewAuditRow } from './audit.schema';

const MAX_PATH = 512;
/** Response header naming the trace and this platform's span (W3C Trace Context Level 2 `traceresponse`). */
export const TRACERESPONSE_HEADER = 'traceresponse';

/** The request path without the query string (which may carry secrets), bounded in length. */
function pathOf(url: string): string {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  return path.length > MAX_PATH ? path.slice(0, MAX_PATH) : path;
}

/**
 * A string PostgreSQL `text`/`jsonb` can store and give back unchanged: NUL is refused by both and
 * a lone UTF-16 surrogate comes back as U+FFFD, either of which would make a record unwritable or
 * break its chain hash. Both are replaced with U+FFFD up front.
 */
function storable(value: string): string {
  const clean = value.includes('\u0000') ? value.replace(/\u0000/g, '\uFFFD') : value;
  return (clean as string & { toWellFormed(): string }).toWellFormed();
}

function storableOrNull(value: string | null | undefined): string | null {
  return value === null || value === undefined ? null : storable(value);
}

/** Details come partly from unverified input (an offending `alg`, a claimed audience): cleaned deeply. */
function storableDetails(details: Record<string, unknown> | undefined): Record<string, unknown> | null {
  if (!details) return null;
  return JSON.parse(JSON.stringify(details, (_key, value: unknown) => (typeof value === 'string' ? storable(value) : value))) as Record<string, unknown>;
}

/** Builds the access record of a finished request from its state. Pure but for the new record id. */
export function auditRowFor(request: FastifyRequest, reply: FastifyReply, router: AppRegistry, now = new Date()): NewAuditRow {
  const state = requestState(request);
  const path = storable(pathOf(request.url));
  const principal = state.principal;
  const route = state.route ?? request.routeOptions?.url ?? null;
  return {
    recordId: randomUUID(),
    kind: 'access',
    traceId: state.trace?.traceId ?? null,
    occurredAt: now,
    requestId: String(request.id),
    decision: state.decision ?? null,
    reason: state.reason ?? (reply.statusCode === 404 ? 'route_not_found' : reply.statusCode >= 400 ? 'rejected_before_authorization' : 'served_outside_guard'),
    errorReason: state.errorReason ?? null,
    subject: storableOrNull(principal?.subject),
    principalType: principal?.type ?? null,
    clientId: storableOrNull(principal?.clientId),
    tenant: storableOrNull(principal?.tenant),
    issuer: storableOrNull(principal?.issuer),
    app: router.appFor(route ?? path),
    method: request.method,
    route,
    path,
    requiredPermissions: state.required ?? [],
    status: reply.statusCode,
    // Microsecond precision: the value hashed is the value stored.
    durationMs: Math.round(Number(process.hrtime.bigint() - state.startedAt) / 1e3) / 1e3,
    clientIp: request.ip ?? null,
    details: storableDetails(state.details),
  };
}

/** The domain-event records of a successful request, one per `@Audited()` event, sharing its ids and actor. */
export function eventRowsFor(access: NewAuditRow, events: Array<{ name: string; resourceId: string | null }>): NewAuditRow[] {
  return events.map((event) => ({
    ...access,
    recordId: randomUUID(),
    kind: 'event' as const,
    event: event.name,
    resourceId: storableOrNull(event.resourceId),
    // The decision that let the request through belongs to the access record.
    details: null,
  }));
}

/** Starts tracking one request: its audit record and log line are written when its response closes. */
export type RequestTracker = (request: FastifyRequest, reply: FastifyReply) => void;

/**
 * Registers the Fastify hook that gives every request an id, a trace context, a state and exactly
 * one access record. Not a Nest interceptor: the record is written when the response closes, which
 * happens for every answer (401/403 from the guard, 404 for unknown routes, 400/413 from the body
 * parser, 429, 500) and also when the client goes away before the answer (status 499,
 * `client_closed_request`), none of which an interceptor sees; and it costs far less per request.
 * The record is also the request's one structured log line and its metrics sample.
 *
 * @returns the tracker, for requests Fastify answers before any hook runs (malformed URLs)
 */
export function registerAuditHooks(fastify: FastifyInstance, writer: AuditWriter, logger: Logger, router: AppRegistry, metrics: PlatformMetrics): RequestTracker {
  const finish = (request: FastifyRequest, reply: FastifyReply) => {
    const row = auditRowFor(request, reply, router);
    if (!reply.raw.writableFinished) {
      row.status = 499;
      row.errorReason = 'client_closed_request';
    }
    writer.record(row);
    const events = request.platform?.events;
    if (events?.length && row.status < 400) for (const event of eventRowsFor(row, events)) writer.record(event);
    metrics.observeRequest({
      app: row.app ?? 'platform',
      route: row.route ?? 'unmatched',
      method: row.method,
      status: row.status,
      durationSeconds: row.durationMs / 1000,
      decision: row.decision ?? null,
      reason: row.reason ?? null,
    });
    // An allow-list of fields: headers, bodies and query strings are never logged (pitfall C23).
    logger.info(
      {
        requestId: row.requestId,
        traceId: row.traceId,
        method: row.method,
        route: row.route,
        path: row.path,
        app: row.app,
        status: row.status,
        durationMs: Math.round(row.durationMs * 100) / 100,
        decision: row.decision,
        reason: row.reason,
        errorReason: row.errorReason ?? undefined,
        subject: row.subject ?? undefined,
        principalType: row.principalType ?? undefined,
        clientId: row.clientId ?? undefined,
        tenant: row.tenant ?? undefined,
        required: row.requiredPermissions.length ? row.requiredPermissions : undefined,
        events: events?.length ? events.map((e) => e.name) : undefined,
        details: row.details ?? undefined,
      },
      'request',
    );
  };
  const track: RequestTracker = (request, reply) => {
    reply.raw.once('close', () => finish(request, reply));
  };
  fastify.addHook('onRequest', (request, reply, done) => {
    const trace = traceContextFrom(request.headers.traceparent, request.headers.tracestate);
    request.platform = { startedAt: process.hrtime.bigint(), trace };
    reply.header(REQUEST_ID_HEADER, request.id);
    reply.header(TRACERESPONSE_HEADER, `00-${trace.traceId}-${trace.spanId}-${trace.flags}`);
    track(request, reply);
    done();
  });
  return track;
}
