import { getTableColumns } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import type { AppRegistry } from '@platform/feature-apps';
import { auditRowFor, eventRowFor } from './audit-hooks';
import { auditRecords, type NewAuditRow } from './audit.schema';

/** RFC 9562 version 7, variant 10. */
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The record's own columns: everything the table stores but its storage id and the chain. */
const COLUMNS = Object.keys(getTableColumns(auditRecords)).filter((k) => !['id', 'prevHash', 'hash'].includes(k));
/** Columns the event record sets itself instead of copying them from the access record. */
const OWN = new Set(['recordId', 'kind', 'event', 'resourceId', 'details']);

/** An access record with a distinct non-null value in every column. */
function fullAccessRow(): NewAuditRow {
  return {
    recordId: '00000000-0000-4000-8000-000000000001',
    kind: 'access',
    traceId: '0af7651916cd43dd8448eb211c80319c',
    occurredAt: new Date('2026-12-02T10:00:00.000Z'),
    requestId: 'req-1',
    decision: 'allow',
    reason: 'permitted',
    errorReason: 'none',
    outcome: 'success',
    subject: 'user-1',
    principalType: 'user',
    clientId: 'client-1',
    actors: [{ subject: 'agent-1', clientId: 'agent-client' }],
    dpopBound: true,
    tenant: 'tenant-1',
    issuer: 'https://issuer.test',
    app: 'analytics',
    method: 'POST',
    route: '/analytics/events',
    path: '/analytics/events',
    requiredPermissions: ['analytics:events:write'],
    status: 202,
    durationMs: 1.234,
    clientIp: '127.0.0.1',
    details: { policy: 'p' },
  };
}

describe('eventRowFor (the domain-event record beside an access record)', () => {
  it('copies every column of the access record but its own, whatever columns the table gains', () => {
    const access = fullAccessRow();
    // Guards the fixture itself: a column added to the table must get a value above.
    expect(COLUMNS.filter((c) => (access as Record<string, unknown>)[c] === undefined && !OWN.has(c))).toEqual([]);
    const row = eventRowFor(access, 'analytics.events.ingested', '42') as Record<string, unknown>;
    for (const column of COLUMNS.filter((c) => !OWN.has(c))) {
      expect(row[column], column).toEqual((access as Record<string, unknown>)[column]);
    }
  });

  it('has its own record id, kind, event and resource, and no decision details', () => {
    const access = fullAccessRow();
    const row = eventRowFor(access, 'analytics.events.ingested', null);
    expect(row.recordId).not.toBe(access.recordId);
    expect(row.recordId).toMatch(UUID_V7);
    expect(row).toMatchObject({ kind: 'event', event: 'analytics.events.ingested', resourceId: null, details: null });
    expect(access.kind).toBe('access');
  });

  it('takes the tenant the event names (a request without one), made storable', () => {
    const row = eventRowFor(fullAccessRow(), 'billing.invoice.paid', 'inv-1', 'other\u0000tenant');
    expect(row.tenant).toBe('other\uFFFDtenant');
    expect(row.resourceId).toBe('inv-1');
  });
});

describe('record ids', () => {
  it("are time-ordered UUID v7s, an access record's carrying its occurredAt", () => {
    const request = {
      url: '/billing/invoices/1?x=y',
      id: 'req-1',
      method: 'GET',
      ip: '127.0.0.1',
      routeOptions: { url: '/billing/invoices/:id' },
      platform: { startedAt: process.hrtime.bigint() },
    } as unknown as FastifyRequest;
    const reply = { statusCode: 200 } as FastifyReply;
    const router = { appFor: () => 'billing' } as unknown as AppRegistry;
    const now = new Date('2020-01-02T10:00:00.123Z'); // before any clock this runs on: the event's id is later
    const access = auditRowFor(request, reply, router, now);
    expect(access.recordId).toMatch(UUID_V7);
    expect(Buffer.from(access.recordId.replaceAll('-', ''), 'hex').readUIntBE(0, 6)).toBe(now.getTime());
    const later = auditRowFor(request, reply, router, new Date(now.getTime() + 1));
    expect(later.recordId > access.recordId).toBe(true);
    expect(eventRowFor(access, 'billing.invoice.paid', '1').recordId > access.recordId).toBe(true);
  });
});
