import { randomUUID } from 'node:crypto';
import type { NewAuditRow } from './audit.schema';

/**
 * A minimal access record for the audit specs: record n occurs at a fixed instant plus n ms, with
 * its own record id and request id `r-<n>`; `overrides` replaces or adds fields.
 */
export function sampleAccessRow(n: number, overrides: Partial<NewAuditRow> = {}): NewAuditRow {
  return {
    recordId: randomUUID(),
    kind: 'access',
    occurredAt: new Date(1_800_000_000_000 + n),
    requestId: `r-${n}`,
    method: 'GET',
    path: '/p',
    requiredPermissions: [],
    status: 200,
    durationMs: 1,
    ...overrides,
  };
}
