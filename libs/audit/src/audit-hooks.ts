import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import {
  PROBLEM_CONTENT_TYPE,
  problemType,
  REQUEST_ID_HEADER,
  requestState,
  titleFor,
  type Problem,
  uuidV7,
} from '@platform/http';
import { AppRegistry } from '@platform/feature-apps';
import { infoLine } from '@platform/logging';
import { formatTraceparent, traceContextFrom, type PlatformMetrics } from '@platform/observability';
import type { AuditWriter } from './audit-writer';
import { auditedEventOf, resourceIdOf } from './audited.decorator';
import { outcomeOf, type NewAuditRow } from './audit.schema';
import { settledWithin } from './settled-within';

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
  const clean = value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value;
  const wellFormed = clean as string & { isWellFormed(): boolean; toWellFormed(): string };
  return wellFormed.isWellFormed() ? clean : wellFormed.toWellFormed();
}

function storableOrNull(value: string | null | undefined): string | null {
  return value === null || value === undefined ? null : storable(value);
}

/** Details come partly from unverified input (an offending `alg`, a claimed audience): cleaned deeply. */
function storableDetails(details: Record<string, unknown> | undefined): Record<string, unknown> | null {
  if (!details) return null;
  return JSON.parse(
    JSON.stringify(details, (_key, value: unknown) => (typeof value === 'string' ? storable(value) : value)),
  ) as Record<string, unknown>;
}

function paramsOf(request: FastifyRequest): Record<string, string> {
  return (request.params ?? {}) as Record<string, string>;
}

/**
 * Builds the access record of a finished request from its state. Pure but for the new record id, a
 * UUID v7 of `now` (time-ordered: the unique index on `record_id` grows at its right edge).
 */
export function auditRowFor(
  request: FastifyRequest,
  reply: FastifyReply,
  router: AppRegistry,
  now = new Date(),
): NewAuditRow {
  const state = requestState(request);
  const path = storable(pathOf(request.url));
  const principal = state.principal;
  const route = state.route ?? request.routeOptions?.url ?? null;
  return {
    recordId: uuidV7(now.getTime()),
    kind: 'access',
    traceId: state.trace?.traceId ?? null,
    occurredAt: now,
    requestId: String(request.id),
    decision: state.decision ?? null,
    reason:
      state.reason ??
      (reply.statusCode === 404
        ? 'route_not_found'
        : reply.statusCode >= 400
          ? 'rejected_before_authorization'
          : 'served_outside_guard'),
    errorReason: state.errorReason ?? null,
    outcome: outcomeOf(state.decision, reply.statusCode),
    subject: storableOrNull(principal?.subject),
    principalType: principal?.type ?? null,
    clientId: storableOrNull(principal?.clientId),
    actors: principal?.actors.length
      ? principal.actors.map((a) => ({ subject: storable(a.subject), clientId: storableOrNull(a.clientId) }))
      : null,
    dpopBound: principal ? principal.boundKeyThumbprint !== null : null,
    tenant: storableOrNull(principal?.tenant),
    issuer: storableOrNull(principal?.issuer),
    app: state.app ?? router.appFor(route ?? path),
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

/**
 * The domain-event record of a successful request whose route declares `@Audited()`: its ids and actor, the event and resource.
 *
 * Every column is copied by name rather than spread (`{ ...access }`): V8 clones a record of this
 * size through its slow path, about 6x the CPU of this literal (13.3 against 2.3 us per record in an
 * in-process A/B). A column added to {@link auditRowFor} must be added here (a spec compares the keys).
 */
export function eventRowFor(
  access: NewAuditRow,
  event: string,
  resourceId: string | null,
  tenant?: string,
): NewAuditRow {
  return {
    recordId: uuidV7(),
    kind: 'event',
    event,
    resourceId: storableOrNull(resourceId),
    traceId: access.traceId,
    occurredAt: access.occurredAt,
    requestId: access.requestId,
    decision: access.decision,
    reason: access.reason,
    errorReason: access.errorReason,
    outcome: access.outcome,
    subject: access.subject,
    principalType: access.principalType,
    clientId: access.clientId,
    actors: access.actors,
    dpopBound: access.dpopBound,
    // A request without a tenant (a signed webhook) may name the tenant its event belongs to.
    tenant: tenant === undefined ? access.tenant : storable(tenant),
    issuer: access.issuer,
    app: access.app,
    method: access.method,
    route: access.route,
    path: access.path,
    requiredPermissions: access.requiredPermissions,
    status: access.status,
    durationMs: access.durationMs,
    clientIp: access.clientIp,
    // The decision that let the request through belongs to the access record.
    details: null,
  };
}

/** Starts tracking one request: its audit record and log line are written when its response closes. */
export type RequestTracker = (request: FastifyRequest, reply: FastifyReply) => void;

/**
 * Registers the Fastify hooks that give every request an id, a trace context, a state and exactly
 * one access record. Not a Nest interceptor: the record is written when the response closes, which
 * happens for every answer (401/403 from the guard, 404 for unknown routes, 400/413 from the body
 * parser, 429, 500) and also when the client goes away before the answer (status 499,
 * `client_closed_request`), none of which an interceptor sees; and it costs far less per request.
 * The record is also the request's one structured log line and its metrics sample.
 *
 * With `durability: 'journal'` (`AUDIT_DURABILITY`, the default) or `'before-response'` the record
 * is made in `onSend` instead, once the status is final, and the response waits until it is durable:
 * `journal`, fsynced in the write-ahead log ({@link AuditWriter.recordJournalled}; the database gets
 * it in batches, as with `async`); `before-response`, committed to the database or fsynced in the
 * journal ({@link AuditWriter.recordDurably}). Either way a crash after the answer
 * loses no record. The close listener stays for answers that never reach `onSend` (the client left
 * first: 499). The wait is bounded (`durableWithinMs`, 2 x `AUDIT_WRITE_TIMEOUT_MS`): when neither
 * the database nor the journal takes the record in time (a database outage and a full or
 * read-only journal folder), the answer is replaced by 503 `audit_unavailable` with `Retry-After`,
 * counted in `platform_audit_unavailable_responses_total`; the record stays queued (it is written,
 * with status 503, when either comes back, or dropped and counted when the queue overflows).
 * With `async` the record is queued at close and written within
 * `AUDIT_FLUSH_INTERVAL_MS`, so a crash may lose the records of that window.
 *
 * @returns the tracker, for requests Fastify answers before any hook runs (malformed URLs)
 */
export function registerAuditHooks(
  fastify: FastifyInstance,
  writer: AuditWriter,
  logger: Logger,
  router: AppRegistry,
  metrics: PlatformMetrics,
  options: { durability: 'journal' | 'before-response' | 'async'; durableWithinMs?: number } = {
    durability: 'journal',
  },
): RequestTracker {
  const durableWithinMs = options.durableWithinMs ?? 10_000;
  // `journal`: fsynced in the write-ahead log (the database gets it in batches); `before-response`: committed (or journalled).
  const durably =
    options.durability === 'journal'
      ? (row: NewAuditRow) => writer.recordJournalled(row)
      : (row: NewAuditRow) => writer.recordDurably(row);
  // Requests whose access record is made: once per request, whichever of onSend and close comes first.
  const recorded = new WeakSet<FastifyRequest>();
  /**
   * Makes the request's access record (and its domain event when the response hooks write it).
   * `beforeResponse`: called from onSend, the response is not sent yet; resolves once the records
   * are durable. Otherwise (close): the response is over or the client left (499); queued only.
   */
  const finish = (
    request: FastifyRequest,
    reply: FastifyReply,
    beforeResponse = false,
  ): { durable?: Promise<unknown>; row?: NewAuditRow } => {
    if (recorded.has(request)) return {};
    recorded.add(request);
    const row = auditRowFor(request, reply, router);
    if (!beforeResponse && !reply.raw.writableFinished) {
      row.status = 499;
      row.errorReason = 'client_closed_request';
      row.outcome = 'abandoned';
    }
    const durable: Array<Promise<void>> = [];
    if (beforeResponse) durable.push(durably(row));
    else writer.record(row);
    const state = request.platform;
    let event = state?.eventInTransaction ? undefined : state?.event;
    if (!event && reply.statusCode < 400 && !state?.replayed && !state?.eventInTransaction) {
      const declared = auditedEventOf(request);
      if (declared && (beforeResponse || reply.raw.writableFinished)) {
        // The handler answered without a body (no preSerialization): the id comes from the route.
        event = { name: declared.name, resourceId: resourceIdOf(declared, undefined, paramsOf(request)) };
      } else if (declared) {
        // The client left while the handler runs: its event is recorded when (if) it succeeds.
        awaitingEvent.set(request, row);
      }
    }
    if (event) {
      const eventRow = eventRowFor(row, event.name, event.resourceId, event.tenant);
      if (beforeResponse) durable.push(durably(eventRow));
      else writer.record(eventRow);
    }
    metrics.observeRequest({
      app: row.app ?? 'platform',
      route: row.route ?? 'unmatched',
      method: row.method,
      status: row.status,
      durationSeconds: row.durationMs / 1000,
      decision: row.decision ?? null,
      reason: row.reason ?? null,
      principalType: row.actors ? 'agent' : (row.principalType ?? 'anonymous'),
      tokenBinding: row.dpopBound ? 'dpop' : row.principalType ? 'bearer' : 'none',
      errorReason: row.errorReason ?? null,
    });
    // An allow-list of fields: headers, bodies and query strings are never logged (pitfall C23).
    // Built directly, the bytes pino would write (redaction and the line hook included).
    infoLine(
      logger,
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
        outcome: row.outcome,
        subject: row.subject ?? undefined,
        principalType: row.principalType ?? undefined,
        clientId: row.clientId ?? undefined,
        actors: row.actors ? row.actors.map((a) => a.subject) : undefined,
        dpopBound: row.dpopBound || undefined,
        tenant: row.tenant ?? undefined,
        required: row.requiredPermissions.length ? row.requiredPermissions : undefined,
        event: event?.name,
        details: row.details ?? undefined,
      },
      'request',
    );
    return {
      row,
      durable: durable.length === 0 ? undefined : durable.length === 1 ? durable[0] : Promise.all(durable),
    };
  };
  const track: RequestTracker = (request, reply) => {
    reply.raw.once('close', () => void finish(request, reply));
  };
  // Access records of requests whose client left before their handler (declaring an event) finished.
  const awaitingEvent = new WeakMap<FastifyRequest, NewAuditRow>();
  // A handler declaring a domain event succeeded: its result is here, before serialization.
  fastify.addHook('preSerialization', (request, reply, payload, done) => {
    const declared =
      reply.statusCode < 400 && !request.platform?.replayed && !request.platform?.eventInTransaction
        ? auditedEventOf(request)
        : undefined;
    if (declared) {
      const event = { name: declared.name, resourceId: resourceIdOf(declared, payload, paramsOf(request)) };
      const access = awaitingEvent.get(request);
      if (access) {
        awaitingEvent.delete(request);
        writer.record(eventRowFor(access, event.name, event.resourceId));
      } else {
        requestState(request).event = event;
      }
    }
    done(null, payload);
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    const trace = traceContextFrom(request.headers.traceparent, request.headers.tracestate);
    // Fastify builds `routeOptions` anew on every read (12 fields): read once, kept for the guard and these hooks.
    const route = request.routeOptions;
    request.platform = { startedAt: process.hrtime.bigint(), trace, route: route.url, routeConfig: route.config };
    reply.header(REQUEST_ID_HEADER, request.id);
    reply.header(TRACERESPONSE_HEADER, formatTraceparent(trace));
    track(request, reply);
    done();
  });
  if (options.durability !== 'async') {
    // Durable before the response leaves: the access record is fsynced in the write-ahead log
    // (`journal`) or committed (`before-response`), with group commit shared with every request
    // answered meanwhile, before the first byte is written.
    fastify.addHook('onSend', async (request, reply, payload) => {
      const { durable, row } = finish(request, reply, true);
      if (!durable || !row || (await settledWithin(durable, durableWithinMs))) return payload;
      return auditUnavailable(request, reply, payload, row, writer, metrics, logger);
    });
  }
  return track;
}

/** Seconds a client is asked to wait after 503 `audit_unavailable`: about one journal replay attempt. */
export const AUDIT_RETRY_AFTER_SECONDS = 5;

/**
 * Replaces a response whose audit record could not be made durable in time by 503
 * `audit_unavailable` (problem+json, `Retry-After`): deny by default, no answer without its record.
 * The record, still queued, is changed to say what the client got. A change the handler made stays
 * made (its domain event is in `audit_outbox`): clients retry with the same `Idempotency-Key`.
 */
function auditUnavailable(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  row: NewAuditRow,
  writer: AuditWriter,
  metrics: PlatformMetrics,
  logger: Logger,
): string {
  // The original body is never sent; a stream is closed rather than left open.
  const stream = payload as { destroy?: () => void } | null;
  if (stream && typeof stream === 'object' && typeof stream.destroy === 'function') stream.destroy();
  const answered = row.status;
  row.status = 503;
  row.errorReason = 'audit_unavailable';
  row.outcome = outcomeOf(row.decision ?? undefined, 503);
  writer.amended(row);
  metrics.auditUnavailable.inc();
  logger.error(
    { requestId: row.requestId, status: answered },
    'Audit record not durable in time: answered 503 audit_unavailable',
  );
  for (const name of Object.keys(reply.getHeaders())) {
    if (name !== REQUEST_ID_HEADER && name !== TRACERESPONSE_HEADER && !SECURITY_HEADER.test(name))
      reply.removeHeader(name);
  }
  reply.code(503);
  reply.header('content-type', PROBLEM_CONTENT_TYPE);
  reply.header('retry-after', String(AUDIT_RETRY_AFTER_SECONDS));
  const problem: Problem = {
    type: problemType('audit_unavailable'),
    title: titleFor(503),
    status: 503,
    detail: 'The audit trail cannot record this request now; retry later.',
    reason: 'audit_unavailable',
    requestId: String(request.id),
  };
  return JSON.stringify(problem);
}

/** Headers kept on the 503: those that protect every answer (CSP, no-store, ...), not those of the replaced body. */
const SECURITY_HEADER =
  /^(content-security-policy|cache-control|pragma|strict-transport-security|x-content-type-options|x-frame-options|referrer-policy|cross-origin-.*|x-dns-prefetch-control|x-download-options|x-permitted-cross-domain-policies|x-xss-protection|origin-agent-cluster|permissions-policy|vary|access-control-.*)$/i;
