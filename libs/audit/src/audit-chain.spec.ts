import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuditChainVerifier, canonicalAuditContent, chainHash, GENESIS_HASH, hashLink } from './audit-chain';
import type { AuditRow, NewAuditRow } from './audit.schema';

function record(n: number): NewAuditRow {
  return {
    recordId: randomUUID(),
    kind: 'access',
    occurredAt: new Date(Date.UTC(2026, 10, 30, 12, 0, n)),
    requestId: `r-${n}`,
    method: 'GET',
    path: '/billing/invoices',
    requiredPermissions: ['billing:invoices:read'],
    status: 200,
    durationMs: 1.234,
    decision: 'allow',
    details: { b: 1, a: { y: 'x', x: [1, 2] } },
  };
}

/** The rows a database would give back for a chain of records: ids, hashes, nulls for unset columns. */
function stored(records: NewAuditRow[]): AuditRow[] {
  let previous = GENESIS_HASH;
  return records.map((r, i) => {
    const hash = chainHash(previous, r);
    const row = {
      event: null,
      resourceId: null,
      traceId: null,
      reason: null,
      errorReason: null,
      subject: null,
      principalType: null,
      clientId: null,
      tenant: null,
      issuer: null,
      app: null,
      route: null,
      clientIp: null,
      ...r,
      id: i + 1,
      prevHash: previous,
      hash,
    } as AuditRow;
    previous = hash;
    return row;
  });
}

describe('audit hash chain', () => {
  it('hashes content, not key order or null columns (jsonb reorders keys; later nullable columns stay out)', () => {
    const r = record(1);
    const reordered = { ...r, details: { a: { x: [1, 2], y: 'x' }, b: 1 }, resourceId: null, traceId: undefined };
    expect(canonicalAuditContent(reordered)).toBe(canonicalAuditContent(r));
    expect(chainHash(GENESIS_HASH, reordered)).toBe(chainHash(GENESIS_HASH, r));
    expect(chainHash(GENESIS_HASH, { ...r, status: 201 })).not.toBe(chainHash(GENESIS_HASH, r));
  });

  it('a link is hex SHA-256 of the previous hash, a newline and the content as UTF-8 (a fixed vector: stored chains stay valid)', () => {
    // sha256sum of the same bytes.
    expect(hashLink(GENESIS_HASH, '{"path":"/\u00e9/\u00fc","n":1}')).toBe(
      '4cc556fc16900b211e4618d3feb44a5d1d3d31356806f8a99634ba7babb0d37b',
    );
  });

  it('an intact chain verifies across pages', () => {
    const rows = stored([1, 2, 3, 4].map(record));
    const verifier = new AuditChainVerifier();
    expect(verifier.check(rows.slice(0, 2))).toBeUndefined();
    expect(verifier.check(rows.slice(2))).toBeUndefined();
    expect(verifier.checked).toBe(4);
  });

  it('names the first changed record, the record after a removed one, and a record stripped of its hash', () => {
    const rows = stored([1, 2, 3, 4].map(record));
    expect(
      new AuditChainVerifier().check(rows.map((r) => (r.id === 3 ? { ...r, subject: 'mallory' } : r))),
    ).toMatchObject({ id: 3, problem: 'content_changed' });
    expect(new AuditChainVerifier().check(rows.filter((r) => r.id !== 2))).toMatchObject({
      id: 3,
      problem: 'previous_record_missing_or_changed',
    });
    expect(new AuditChainVerifier().check(rows.slice(1))).toMatchObject({
      id: 2,
      problem: 'previous_record_missing_or_changed',
    });
    expect(new AuditChainVerifier().check(rows.map((r) => (r.id === 4 ? { ...r, hash: null } : r)))).toMatchObject({
      id: 4,
      problem: 'hash_missing',
    });
  });

  it("a removed record whose successor's prev_hash is patched to bridge the gap still breaks the chain (the hash covers prev_hash)", () => {
    const rows = stored([1, 2, 3, 4].map(record));
    const bridged = rows.filter((r) => r.id !== 2).map((r) => (r.id === 3 ? { ...r, prevHash: rows[0].hash } : r));
    expect(new AuditChainVerifier().check(bridged)).toMatchObject({ id: 3, problem: 'content_changed' });
    expect(chainHash('a'.repeat(64), record(1))).not.toBe(chainHash(GENESIS_HASH, record(1)));
  });

  it('skips rows older than the chain (written before the migration that added it)', () => {
    const legacy = { ...stored([record(0)])[0], id: 1, prevHash: null, hash: null };
    const rows = stored([1, 2].map(record)).map((r) => ({ ...r, id: r.id + 1 }));
    const verifier = new AuditChainVerifier();
    expect(verifier.check([legacy, ...rows])).toBeUndefined();
    expect(verifier.skipped).toBe(1);
  });
});
