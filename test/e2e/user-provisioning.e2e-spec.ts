import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UserProvisioner } from '@apps/user-management';
import type { Principal } from '@platform/auth';
import { availableDatabases, TestPlatform } from '../support/test-platform';

/**
 * The provisioner's repository, as far as these tests use it: reached through the provisioner (the
 * repository is internal to user management) to spy on its writes and read the rows back.
 */
interface ProvisioningRepository {
  upsertMany(
    profiles: readonly { tenant: string; issuer: string; subject: string; type: string; email: null; name: null }[],
  ): Promise<void>;
  ensureTenants(keys: readonly string[]): Promise<void>;
  tenantWithCounts(key: string): Promise<{ tenant: { key: string }; users: number } | undefined>;
  membershipsOf(issuer: string, subject: string): Promise<{ id: string; tenant: string; lastSeenAt: Date }[]>;
  listByTenant(tenant: string, limit: number): Promise<{ subject: string }[]>;
}

/** A principal as the guard hands it to the provisioner (only the fields provisioning reads matter). */
function principal(subject: string, tenant: string, claims: Record<string, unknown> = {}): Principal {
  return {
    subject,
    type: 'user',
    tenant,
    issuer: 'https://idp.provisioning.test',
    roles: [],
    boundRoles: [],
    scopes: [],
    clientId: null,
    expiresAt: Math.floor(Date.now() / 1000) + 600,
    tokenId: null,
    actors: [],
    boundKeyThumbprint: null,
    claims,
  };
}

describe.each(availableDatabases())('just-in-time provisioning in batches on %s', (database) => {
  let platform: TestPlatform;
  let provisioner: UserProvisioner;
  let repository: ProvisioningRepository;
  const issuer = 'https://idp.provisioning.test';

  beforeAll(async () => {
    platform = await TestPlatform.start({}, database);
    provisioner = platform.running.app.get(UserProvisioner);
    repository = (provisioner as unknown as { repository: ProvisioningRepository }).repository;
  });
  afterAll(() => platform?.close());

  it('a burst of 1,200 new principals of new tenants is written in a few multi-row statements', async () => {
    const upsertMany = vi.spyOn(repository, 'upsertMany');
    const ensureTenants = vi.spyOn(repository, 'ensureTenants');
    try {
      for (let i = 0; i < 1200; i++)
        provisioner.seen(principal(`burst-${i}`, `burst-${i % 3}`, { email: `u${i}@burst.test`, name: `User ${i}` }));
      await provisioner.settled();
      // 1,200 identities in batches of at most 500: at least 3 statements, far from one per principal.
      const written = upsertMany.mock.calls.flatMap(([profiles]) => profiles.map((p) => p.subject));
      expect(upsertMany.mock.calls.length).toBeGreaterThanOrEqual(3);
      expect(upsertMany.mock.calls.length).toBeLessThanOrEqual(6);
      expect(Math.max(...upsertMany.mock.calls.map(([profiles]) => profiles.length))).toBeLessThanOrEqual(500);
      expect(new Set(written).size).toBe(1200);
      // New tenants are created in batches too (the two workers may both create one: no conflict).
      expect([...new Set(ensureTenants.mock.calls.flat(2))].sort()).toEqual(['burst-0', 'burst-1', 'burst-2']);
      expect(ensureTenants.mock.calls.length).toBeLessThanOrEqual(2);
    } finally {
      upsertMany.mockRestore();
      ensureTenants.mockRestore();
    }
    for (const tenant of ['burst-0', 'burst-1', 'burst-2'])
      expect(await repository.tenantWithCounts(tenant)).toMatchObject({ tenant: { key: tenant }, users: 400 });
    const [row] = await repository.membershipsOf(issuer, 'burst-7');
    expect(row).toMatchObject({ tenant: 'burst-1', type: 'user', email: 'u7@burst.test', name: 'User 7' });
  });

  it('a changed profile updates the same row; a claim that disappears keeps the stored value', async () => {
    provisioner.seen(principal('changing', 'acme', { email: 'old@acme.test', name: 'Old Name' }));
    await provisioner.settled();
    const [before] = await repository.membershipsOf(issuer, 'changing');

    provisioner.seen(principal('changing', 'acme', { name: 'New Name' }));
    await provisioner.settled();
    const [after] = await repository.membershipsOf(issuer, 'changing');
    expect(after).toMatchObject({ id: before.id, email: 'old@acme.test', name: 'New Name' });
    expect(after.lastSeenAt.getTime()).toBeGreaterThanOrEqual(before.lastSeenAt.getTime());

    // The same profile again: nothing to write.
    const upsertMany = vi.spyOn(repository, 'upsertMany');
    try {
      provisioner.seen(principal('changing', 'acme', { name: 'New Name' }));
      await provisioner.settled();
      expect(upsertMany).not.toHaveBeenCalled();
    } finally {
      upsertMany.mockRestore();
    }
  });

  it('two writers with the same new identities in opposite orders do not deadlock (one lock order)', async () => {
    // As two workers or replicas would: the same first-seen people, queued in different orders.
    await repository.ensureTenants(['order-a', 'order-b']);
    const profiles = Array.from({ length: 400 }, (_, i) => ({
      tenant: i % 2 ? 'order-a' : 'order-b',
      issuer,
      subject: `order-${i}`,
      type: 'user',
      email: null,
      name: null,
    }));
    for (let round = 0; round < 5; round++) {
      const fresh = profiles.map((p) => ({ ...p, subject: `${p.subject}-${round}` }));
      await Promise.all([repository.upsertMany(fresh), repository.upsertMany([...fresh].reverse())]);
    }
    expect(await repository.tenantWithCounts('order-a')).toMatchObject({ users: 1000 });
  });

  it('a failed batch is logged and written again at the principals’ next request', async () => {
    const upsertMany = vi.spyOn(repository, 'upsertMany').mockRejectedValueOnce(new Error('connection lost'));
    try {
      for (let i = 0; i < 20; i++) provisioner.seen(principal(`retry-${i}`, 'acme'));
      await provisioner.settled();
      expect(await repository.membershipsOf(issuer, 'retry-0')).toEqual([]);
      expect(
        platform
          .logLines()
          .some((l) => String(l.msg).startsWith('Just-in-time user provisioning failed') && l.users === 20),
      ).toBe(true);

      for (let i = 0; i < 20; i++) provisioner.seen(principal(`retry-${i}`, 'acme'));
      await provisioner.settled();
    } finally {
      upsertMany.mockRestore();
    }
    expect((await repository.listByTenant('acme', 100)).filter((u) => u.subject.startsWith('retry-'))).toHaveLength(20);
  });
});
