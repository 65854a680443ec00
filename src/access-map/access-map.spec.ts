import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteEntry } from '@platform/auth';
import type { AppRegistry } from '@platform/feature-apps';
import {
  buildAccessMap,
  loadPolicy,
  loadRouteInventory,
  renderAccessMapJson,
  renderAccessMapMarkdown,
} from './access-map';
import { checkAccessMapFiles } from './check';

const root = path.resolve(__dirname, '../..');
const POLICY = path.join(root, 'config/policy.yaml');
const committed = (name: string) => readFileSync(path.join(root, name), 'utf8');

describe('access map', () => {
  let routes: RouteEntry[];
  let registry: AppRegistry;
  let scratch: string;

  beforeAll(async () => {
    ({ routes, registry } = await loadRouteInventory());
    scratch = mkdtempSync(path.join(tmpdir(), 'access-map-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const generate = (policyFile: string) => {
    const map = buildAccessMap(routes, loadPolicy(policyFile, registry), path.relative(root, POLICY));
    return {
      map,
      files: { 'access-map.md': renderAccessMapMarkdown(map), 'access-map.json': renderAccessMapJson(map) },
    };
  };

  /** The committed policy with one edit. */
  const editedPolicy = (edit: (text: string) => string) => {
    const file = path.join(scratch, `policy-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, edit(readFileSync(POLICY, 'utf8')));
    return file;
  };

  it('the committed access-map.md and access-map.json match the routes and config/policy.yaml', () => {
    expect(checkAccessMapFiles(generate(POLICY).files, committed)).toBeNull();
  });

  it('lists every route of the inventory, with roles resolved through includes', () => {
    const { map } = generate(POLICY);
    expect(map.routes).toHaveLength(routes.length);
    const counts = map.routes.find((r) => r.method === 'GET' && r.path === '/analytics/events/counts');
    // admin holds analytics:* itself; analyst through its own grant; the scope for machines
    expect(counts).toMatchObject({
      app: 'analytics',
      policy: 'permissions',
      permissions: ['analytics:events:read'],
      roles: ['admin', 'analyst'],
      scopes: ['analytics:events:read'],
      tenant: 'required',
    });
    const health = map.routes.find((r) => r.policy === 'public');
    expect(health?.roles).toEqual(['*']);
    expect(map.roles.find((r) => r.name === 'admin')?.includes).toEqual(['analyst', 'billing-manager']);
  });

  it("changing one role's permissions makes the committed map stale, and the message says how to regenerate", () => {
    const policy = editedPolicy((text) =>
      text.replace(
        '    permissions:\n      - analytics:events:read\n',
        '    permissions:\n      - analytics:events:read\n      - analytics:usage:read\n',
      ),
    );
    const { map, files } = generate(policy);
    expect(map.routes.find((r) => r.path === '/analytics/usage')?.roles).toEqual(['admin', 'analyst']);
    const message = checkAccessMapFiles(files, committed);
    expect(message).toContain('access-map.md is stale');
    expect(message).toContain('access-map.json is stale');
    expect(message).toContain('Run `npm run access-map` and commit access-map.md and access-map.json');
  });

  it('names identity-provider roles that get a route through a role mapping', () => {
    const policy = editedPolicy((text) =>
      text.replace(
        'roleMappings: []',
        'roleMappings:\n  - { from: finance-team, to: [billing-manager], tenant: acme }',
      ),
    );
    const { map } = generate(policy);
    expect(map.routes.find((r) => r.method === 'GET' && r.path === '/billing/invoices')?.mappedFrom).toEqual([
      'finance-team -> billing-manager @acme',
    ]);
    expect(map.routes.find((r) => r.path === '/analytics/usage')?.mappedFrom).toEqual([]);
  });

  it('npm run access-map -- --check exits non-zero with the regenerate message when the policy changed', async () => {
    const policy = editedPolicy((text) =>
      text.replace('      - billing:plans:read\n      - "analytics:*"', '      - "analytics:*"'),
    );
    const run = promisify(execFile)(
      process.execPath,
      [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/access-map.ts', '--check', '--policy', policy],
      { cwd: root },
    );
    const failure = await run.then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain('access-map.md is stale');
    expect(failure?.stderr).toContain('Run `npm run access-map`');
  });
});
