import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyService } from '@platform/auth';
import { DEV_MACHINE_CLIENTS } from '@platform/dev-idp';
import { AppRegistry } from '@platform/feature-apps';
import { loadPolicy } from '../../../src/access-map/access-map';
import { FEATURE_APPS, PLATFORM_APP } from '../../../src/feature-apps';
import {
  actualOutcome,
  expectedOutcome,
  writeConformanceReport,
  type AccessProfile,
  type ConformanceCell,
  type InventoryRoute,
} from '../../support/access-conformance';
import { openTarget, type PlatformTarget } from '../../support/platform-target';

const root = path.resolve(__dirname, '../../..');
/** The policy the platform under test runs (a deployment may use another file: PLATFORM_POLICY_FILE). */
const POLICY_FILE = path.resolve(root, process.env.PLATFORM_POLICY_FILE ?? 'config/policy.yaml');
const REPORT_DIR = path.resolve(root, process.env.REPORT_DIR ?? 'reports');

/** A concrete URL for an inventory path: made-up ids, so that allowed requests change nothing. */
const concrete = (route: string) => route.replace(/:role\b/g, 'analyst').replace(/:[A-Za-z]+/g, () => randomUUID());

/**
 * For every route of the platform's inventory and every role and scope profile of the policy, the
 * answer the policy predicts, checked with real tokens (in-process, or PLATFORM_URL). Allowed
 * requests carry an empty body or a made-up id, so they end in 400/404 inside the app and never
 * write: the suite is safe against a deployment. Writes reports/access-conformance.{md,json}.
 */
describe('access conformance: every route x every role and scope profile (remote-capable)', () => {
  let target: PlatformTarget;
  let policy: PolicyService;
  let routes: InventoryRoute[];
  let tenant: string;
  const profiles: AccessProfile[] = [];
  const tokens = new Map<string, string>();
  const untested: { profile: string; why: string }[] = [];
  const cells: ConformanceCell[] = [];
  const isolation: ConformanceCell[] = [];

  beforeAll(async () => {
    target = await openTarget();
    policy = loadPolicy(POLICY_FILE, new AppRegistry([...FEATURE_APPS.map((a) => a.manifest), PLATFORM_APP]));
    tenant = target.newTenant();
    const operator = await target.profileToken(null, ['platform-operator']);
    const inventory = await target.request('GET', '/platform/routes', { token: operator });
    expect(inventory.status).toBe(200);
    routes = (inventory.body.items as InventoryRoute[]).filter((r) => !r.public);

    // People: each role in this run's tenant and outside any tenant, and a person with no role.
    for (const role of Object.keys(policy.current.roles).sort()) {
      for (const t of [tenant, null])
        profiles.push({ label: t ? role : `${role} (no tenant)`, kind: 'user', tenant: t, roles: [role], scopes: [] });
    }
    profiles.push({ label: 'no role', kind: 'user', tenant, roles: [], scopes: [] });
    for (const p of profiles) tokens.set(p.label, await target.profileToken(p.tenant, p.roles));

    // Machines: one service account per scope in this run's tenant (registered by its admin), or
    // the seeded client holding just that scope (platform scopes an admin may not grant).
    const admin = tokens.get('admin') as string;
    for (const scope of Object.keys(policy.current.scopes).sort()) {
      const label = `scope ${scope}`;
      const registered = await target.request('POST', '/service-accounts', {
        token: admin,
        body: { name: `conformance ${scope}`, scopes: [scope] },
      });
      if (registered.status === 201 && registered.body.clientSecret) {
        profiles.push({ label, kind: 'service', tenant, roles: [], scopes: [scope] });
        tokens.set(label, await target.clientToken(registered.body.clientId, registered.body.clientSecret, [scope]));
        continue;
      }
      const seeded = DEV_MACHINE_CLIENTS.find((c) => c.scopes.length === 1 && c.scopes[0] === scope && !c.agent);
      if (seeded) {
        profiles.push({ label, kind: 'service', tenant: seeded.tenant, roles: [], scopes: [scope] });
        tokens.set(label, await target.clientToken(seeded.clientId));
        continue;
      }
      untested.push({
        profile: label,
        why: `no service account could be registered (${registered.status} ${registered.body?.reason ?? ''}) and no seeded client holds just this scope`,
      });
    }
  });

  afterAll(async () => {
    if (cells.length) {
      const written = writeConformanceReport(
        REPORT_DIR,
        target.remote ? target.url : 'in-process platform',
        profiles,
        cells,
        isolation,
        untested,
      );
      process.stdout.write(
        `\n[e2e] access conformance matrix: ${path.relative(root, written.markdown)}, ${path.relative(root, written.json)}\n`,
      );
    }
    await target?.close();
  });

  // Every route times every profile: some 800 requests, in-process in npm test beside the other
  // suites on shared cores, or over the network against PLATFORM_URL; more than the default 30 s.
  it('every route answers every profile as the policy says', async () => {
    for (const route of routes) {
      const url = concrete(route.path);
      await Promise.all(
        profiles.map(async (profile) => {
          const response = await target.request(route.method, url, {
            token: tokens.get(profile.label),
            body: route.method === 'GET' || route.method === 'DELETE' ? undefined : {},
          });
          const expected = expectedOutcome(route, profile, policy);
          const actual = actualOutcome(response.status, response.body);
          cells.push({
            method: route.method,
            path: route.path,
            profile: profile.label,
            expected,
            actual,
            status: response.status,
            ok: expected === actual,
          });
        }),
      );
    }
    expect(routes.length).toBeGreaterThan(30);
    expect(
      cells
        .filter((c) => !c.ok)
        .map(
          (c) => `${c.method} ${c.path} as ${c.profile}: expected ${c.expected}, got ${c.actual} (HTTP ${c.status})`,
        ),
    ).toEqual([]);
  }, 180_000);

  it("another tenant's resources are 404, the owner's 200", async () => {
    const otherTenant = target.newTenant();
    const otherAdmin = await target.profileToken(otherTenant, ['admin']);
    const admin = tokens.get('admin') as string;
    const invoice = await target.request('POST', '/billing/invoices', {
      token: admin,
      body: { customer: 'Conformance', currency: 'EUR', lines: [{ description: 'x', quantity: 1, unitAmount: 1 }] },
    });
    const account = await target.request('POST', '/service-accounts', {
      token: admin,
      body: { name: 'conformance isolation', scopes: ['analytics:events:read'] },
    });
    const me = await target.request('GET', '/users/me', { token: admin });
    for (const [resource, id] of [
      ['/billing/invoices', invoice.body.id],
      ['/service-accounts', account.body.id],
      ['/users', me.body.id],
    ] as const) {
      const pathname = `${resource}/${id}`;
      const own = await target.request('GET', pathname, { token: admin });
      const other = await target.request('GET', pathname, { token: otherAdmin });
      isolation.push({
        method: 'GET',
        path: `${resource}/:id`,
        profile: `admin of the owning tenant`,
        expected: '200',
        actual: `${own.status}`,
        status: own.status,
        ok: own.status === 200,
      });
      isolation.push({
        method: 'GET',
        path: `${resource}/:id`,
        profile: 'admin of another tenant',
        expected: '404',
        actual: `${other.status}`,
        status: other.status,
        ok: other.status === 404,
      });
    }
    expect(isolation.filter((c) => !c.ok)).toEqual([]);
  });
});
