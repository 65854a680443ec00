import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AppRegistry, REQUEST_ID_HEADER, requestState } from '@platform/http';
import type { AuditWriter } from './audit-writer';
import type { NewAuditRow } from './audit.schema';

const MAX_PATH = 512;

/** The request path without the query string (which may carry secrets), bounded in length. */
function pathOf(url: string): string {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  return path.length > MAX_PATH ? path.slice(0, MAX_PATH) : path;
}

/** Builds the audit row of a finished request from its state. Pure. */
export function auditRowFor(request: FastifyRequest, reply: FastifyReply, router: AppRegistry, now = new Date()): NewAuditRow {
  const state = requestState(request);
  const path = pathOf(request.url);
  const principal = state.principal;
  const route = state.route ?? request.routeOptions?.url ?? null;
  return {
    occurredAt: now,
    requestId: String(request.id),
    decision: state.decision ?? null,
    reason: state.reason ?? (reply.statusCode === 404 ? 'route_not_found' : reply.statusCode >= 400 ? 'rejected_before_authorization' : 'served_outside_guard'),
    errorReason: state.errorReason ?? null,
    subject: principal?.subject ?? null,
    principalType: principal?.type ?? null,
    clientId: principal?.clientId ?? null,
    tenant: principal?.tenant ?? null,
    issuer: principal?.issuer ?? null,
    app: router.appFor(route ?? path),
    method: request.method,
    route,
    path,
    requiredPermissions: state.required ?? [],
    status: reply.statusCode,
    durationMs: Number(process.hrtime.bigint() - state.startedAt) / 1e6,
    clientIp: request.ip ?? null,
    details: state.details ?? null,
  };
}

/** Starts tracking one request: its audit record and log line are written when its response closes. */
export type RequestTracker = (request: FastifyRequest, reply: FastifyReply) => void;

/**
 * Registers the Fastify hook that gives every request an id, a state and exactly one audit record.
 * Not a Nest interceptor: the record is written when the response closes, which happens for every
 * answer (401/403 from the guard, 404 for unknown routes, 400/413 from the body parser, 500) and
 * also when the client goes away before the answer (status 499, `client_closed_request`), none of
 * which an interceptor sees; and it costs far less per request. The record is also the request's
 * one structured log line.
 *
 * @returns the tracker, for requests Fastify answers before any hook runs (malformed URLs)
 */
export function registerAuditHooks(fastify: FastifyInstance, writer: AuditWriter, logger: Logger, router: AppRegistry): RequestTracker {
  const finish = (request: FastifyRequest, reply: FastifyReply) => {
    const row = auditRowFor(request, reply, router);
    if (!reply.raw.writableFinished) {
      row.status = 499;
      row.errorReason = 'client_closed_request';
    }
    writer.record(row);
    // An allow-list of fields: headers, bodies and query strings are never logged (pitfall C23).
    logger.info(
      {
        requestId: row.requestId,
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
        details: row.details ?? undefined,
      },
      'request',
    );
  };
  const track: RequestTracker = (request, reply) => {
    reply.raw.once('close', () => finish(request, reply));
  };
  fastify.addHook('onRequest', (request, reply, done) => {
    request.platform = { startedAt: process.hrtime.bigint() };
    reply.header(REQUEST_ID_HEADER, request.id);
    track(request, reply);
    done();
  });
  return track;
}
