import { describe, expect, it } from 'vitest';
import type { DatabaseService } from '@platform/database';
import { deactivatedPrincipals, roleBindings, serviceAccounts } from './access.schema';
import { AccessStateService } from './access-state.service';

type Rows = { bindings: object[]; deactivated: object[]; machines: object[] };

/** A database answering the three full reads with whatever `rows` holds at the time. */
function fakeDatabase(rows: Rows): DatabaseService {
  const tables = new Map<unknown, keyof Rows>([
    [roleBindings, 'bindings'],
    [deactivatedPrincipals, 'deactivated'],
    [serviceAccounts, 'machines'],
  ]);
  const db = {
    select: () => ({ from: (table: unknown) => Promise.resolve(rows[tables.get(table) as keyof Rows]) }),
  };
  return { db, listen: () => Promise.resolve(), notify: () => Promise.resolve() } as unknown as DatabaseService;
}

const binding = (subject: string, role: string) => ({ tenant: 'acme', subject, role });
const machine = (scopes: string[], status = 'active') => ({ tenant: 'acme', clientId: 'bot', scopes, status });

describe('AccessStateService.version', () => {
  it('stays when a reload reads back the same state (the 30 s resync), in any row order', async () => {
    const rows: Rows = {
      bindings: [binding('alice', 'billing-viewer'), binding('alice', 'admin')],
      deactivated: [{ tenant: 'acme', subject: 'bob' }],
      machines: [machine(['a:read', 'b:write'])],
    };
    const access = new AccessStateService(fakeDatabase(rows));
    await access.reload();
    const first = access.version;
    expect(first).toBe(1);
    rows.bindings = [...rows.bindings].reverse();
    rows.machines = [machine(['b:write', 'a:read'])];
    let reloads = 0;
    access.onChange(() => (reloads += 1));
    await access.reload();
    expect(access.version).toBe(first);
    // Listeners still hear every reload.
    expect(reloads).toBe(1);
  });

  it.each<[string, (rows: Rows) => void]>([
    ['a role granted', (r) => r.bindings.push(binding('alice', 'auditor'))],
    ['a role swapped for another', (r) => (r.bindings = [binding('alice', 'auditor')])],
    ['a principal bound', (r) => r.bindings.push(binding('carol', 'billing-viewer'))],
    ['a binding revoked', (r) => (r.bindings = [])],
    ['a deactivation', (r) => r.deactivated.push({ tenant: 'acme', subject: 'alice' })],
    ['a reactivation', (r) => (r.deactivated = [])],
    ['a deactivation moved to another principal', (r) => (r.deactivated = [{ tenant: 'acme', subject: 'eve' }])],
    ['a service account suspended', (r) => (r.machines = [machine(['a:read'], 'suspended')])],
    ['a scope changed', (r) => (r.machines = [machine(['a:write'])])],
    ['a service account added', (r) => r.machines.push({ ...machine(['a:read']), clientId: 'bot-2' })],
  ])('changes after %s', async (_name, change) => {
    const rows: Rows = {
      bindings: [binding('alice', 'billing-viewer')],
      deactivated: [{ tenant: 'acme', subject: 'bob' }],
      machines: [machine(['a:read'])],
    };
    const access = new AccessStateService(fakeDatabase(rows));
    await access.reload();
    const before = access.version;
    change(rows);
    await access.reload();
    expect(access.version).not.toBe(before);
  });

  it('changes with the first read, even of an empty state', async () => {
    const access = new AccessStateService(fakeDatabase({ bindings: [], deactivated: [], machines: [] }));
    expect(access.version).toBe(0);
    await access.reload();
    expect(access.version).toBe(1);
  });
});
