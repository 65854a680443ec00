import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { PolicyService } from '@platform/auth';
import { profilePrincipal } from '../../src/access-map/access-map';

/** A route as `GET /platform/routes` lists it. */
export interface InventoryRoute {
  method: string;
  path: string;
  app: string;
  public: boolean;
  permissions: string[];
  policy: string;
  tenantScoped: boolean;
}

/** A kind of caller: a person with exactly some roles, or a machine with exactly some scopes. */
export interface AccessProfile {
  label: string;
  kind: 'user' | 'service';
  tenant: string | null;
  roles: string[];
  scopes: string[];
}

/** What the guard answers: `allow` (the request reached the app), or a 403 reason, 401, 404, 429. */
export type Outcome = 'allow' | `403 ${string}` | '401' | '404' | '429' | `${number}`;

/** One checked cell of the matrix. */
export interface ConformanceCell {
  method: string;
  path: string;
  profile: string;
  expected: Outcome;
  actual: Outcome;
  /** The HTTP status actually answered. */
  status: number;
  ok: boolean;
}

/**
 * Access rules a handler adds to its route's declared policy, which the route inventory cannot
 * show; each names where it lives. Keep this list short: a rule belongs in the route's decorator
 * whenever it can be said there.
 */
export const HANDLER_RULES: {
  name: string;
  applies: (route: InventoryRoute) => boolean;
  expect: (profile: AccessProfile, policy: PolicyService) => Outcome | undefined;
}[] = [
  {
    name: 'the audit trail (src/platform/audit.controller.ts, src/console/refusals.controller.ts): outside any tenant, reading it also needs platform:audit:read-all (403 tenant_required)',
    // The record and refusal-record routes validate their query or id first: the empty request the
    // run sends is a 400 before the handler looks at the tenant, so they follow the policy alone.
    applies: (route) => ['/platform/audit', '/platform/audit/export', '/platform/audit/refusals'].includes(route.path),
    expect: (profile, policy) => {
      if (profile.tenant !== null) return undefined;
      const principal = profilePrincipal(
        profile.kind === 'service' ? { scopes: profile.scopes, tenant: null } : { roles: profile.roles, tenant: null },
      );
      const mayRead = policy.decide(principal, ['platform:audit:read']).allowed;
      return mayRead && !policy.decide(principal, ['platform:audit:read-all']).allowed
        ? '403 tenant_required'
        : undefined;
    },
  },
];

/**
 * The answer the policy predicts for `profile` on `route`, in the guard's order: a tenant route
 * refuses a token without a tenant (`tenant_required`), then the policy decides (people:
 * `insufficient_permission`, machines: `insufficient_scope`). Decided by the platform's own
 * {@link PolicyService}, never re-implemented here.
 */
export function expectedOutcome(route: InventoryRoute, profile: AccessProfile, policy: PolicyService): Outcome {
  if (route.tenantScoped && profile.tenant === null) return '403 tenant_required';
  for (const rule of HANDLER_RULES) {
    const outcome = rule.applies(route) ? rule.expect(profile, policy) : undefined;
    if (outcome) return outcome;
  }
  if (route.policy !== 'permissions') return 'allow';
  const principal = profilePrincipal(
    profile.kind === 'service'
      ? { scopes: profile.scopes, tenant: profile.tenant }
      : { roles: profile.roles, tenant: profile.tenant },
  );
  if (policy.decide(principal, route.permissions).allowed) return 'allow';
  return profile.kind === 'service' ? '403 insufficient_scope' : '403 insufficient_permission';
}

/**
 * Classifies an answer: 403 with its problem `reason`; 401 and 429 as such; anything else means
 * the guard let the request through (the app may still answer 400 for the empty body or 404 for
 * the made-up id the conformance run sends).
 */
export function actualOutcome(status: number, body: unknown): Outcome {
  if (status === 403) return `403 ${(body as { reason?: string } | undefined)?.reason ?? 'unknown'}`;
  if (status === 401 || status === 429) return `${status}` as Outcome;
  return 'allow';
}

const SHORT: Record<string, string> = {
  allow: 'A',
  '403 insufficient_permission': 'P',
  '403 insufficient_scope': 'S',
  '403 tenant_required': 'T',
  '404': '404',
};
const short = (o: Outcome) => SHORT[o] ?? o;

/**
 * Writes the matrix (routes x profiles) as `access-conformance.md` and `.json` into `dir`, every
 * mismatch named. @returns the paths written
 */
export function writeConformanceReport(
  dir: string,
  target: string,
  profiles: AccessProfile[],
  cells: ConformanceCell[],
  isolation: ConformanceCell[],
  untested: { profile: string; why: string }[],
): { markdown: string; json: string } {
  mkdirSync(dir, { recursive: true });
  const mismatches = [...cells, ...isolation].filter((c) => !c.ok);
  const routes = [...new Map(cells.map((c) => [`${c.method} ${c.path}`, c])).keys()];
  const lines = [
    '# Access conformance',
    '',
    `Target: ${target}. ${cells.length + isolation.length} checks, ${mismatches.length} mismatches.`,
    '',
    'Cells: `A` allowed (the request reached the app), `P` 403 insufficient_permission, `S` 403 insufficient_scope, `T` 403 tenant_required; a mismatch shows as **expected→actual**.',
    '',
    ...(mismatches.length
      ? [
          '## Mismatches',
          '',
          ...mismatches.map(
            (m) =>
              `- ${m.method} \`${m.path}\` as ${m.profile}: expected ${m.expected}, got ${m.actual} (HTTP ${m.status})`,
          ),
          '',
        ]
      : []),
    'Handler rules applied on top of the route inventory:',
    ...HANDLER_RULES.map((rule) => `- ${rule.name}`),
    '',
    '## Routes x profiles',
    '',
    `| Route | ${profiles.map((p) => p.label).join(' | ')} |`,
    `| --- | ${profiles.map(() => '---').join(' | ')} |`,
    ...routes.map((route) => {
      const row = profiles.map((p) => {
        const cell = cells.find((c) => `${c.method} ${c.path}` === route && c.profile === p.label);
        if (!cell) return '—';
        return cell.ok ? short(cell.expected) : `**${short(cell.expected)}→${short(cell.actual)}**`;
      });
      return `| ${route} | ${row.join(' | ')} |`;
    }),
    '',
    "## Another tenant's resources",
    '',
    '| Request | As | Expected | Actual |',
    '| --- | --- | --- | --- |',
    ...isolation.map(
      (c) => `| ${c.method} \`${c.path}\` | ${c.profile} | ${c.expected} | ${c.ok ? c.actual : `**${c.actual}**`} |`,
    ),
    ...(untested.length ? ['', '## Profiles not tested', '', ...untested.map((u) => `- ${u.profile}: ${u.why}`)] : []),
  ];
  const markdown = path.join(dir, 'access-conformance.md');
  const json = path.join(dir, 'access-conformance.json');
  writeFileSync(markdown, `${lines.join('\n')}\n`);
  writeFileSync(json, `${JSON.stringify({ target, profiles, cells, isolation, untested, mismatches }, null, 2)}\n`);
  return { markdown, json };
}
