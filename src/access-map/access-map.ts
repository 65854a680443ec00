import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DiscoveryService, MetadataScanner, ModulesContainer, NestFactory, Reflector } from '@nestjs/core';
import pino from 'pino';
import { parsePolicy, PolicyService, RouteInventory, type PolicyDocument, type Principal, type RouteEntry } from '@platform/auth';
import { parsePlatformConfig, type PlatformConfig } from '@platform/config';
import { AppRegistry, type FeatureApp } from '@platform/http';
import { AppModule } from '../app.module';
import { FEATURE_APPS, PLATFORM_APP } from '../feature-apps';

/** Who gets one route, as the policy says. */
export interface AccessMapRoute {
  method: string;
  path: string;
  app: string;
  /** `Controller.handler`. */
  handler: string;
  /** `public` (no token read), `authenticated` (any valid principal) or `permissions`. */
  policy: 'public' | 'authenticated' | 'permissions' | 'none';
  /** Every permission the route requires (all of them); empty unless `policy` is `permissions`. */
  permissions: string[];
  /** `required`: principals whose token names no tenant are refused (403 tenant_required). Null for public routes. */
  tenant: 'required' | 'optional' | null;
  /** `required-for-machines`: machines and agents need a DPoP-bound token here. */
  dpop: 'required-for-machines' | null;
  /**
   * Platform roles whose holders (people) get the route: the role's own permissions and those of
   * the roles it includes, transitively. `*` for public and authenticated-only routes.
   */
  roles: string[];
  /** Identity-provider roles or groups that get it through a role mapping (`from -> to`, with `@tenant` when tenant-specific). */
  mappedFrom: string[];
  /** OAuth scopes that get it for a machine, each scope alone (the tenant must also have granted the scope to the client). */
  scopes: string[];
}

/** A role with its includes resolved. */
export interface AccessMapRole {
  name: string;
  description: string;
  /** Every role it includes, transitively (without itself). */
  includes: string[];
  /** Its own permission patterns and those of every included role. */
  permissions: string[];
}

/** The whole map: what `access-map.json` holds. */
export interface AccessMap {
  /** Repository-relative policy file the map was computed from. */
  policyFile: string;
  roles: AccessMapRole[];
  scopes: { name: string; description: string; permissions: string[] }[];
  routes: AccessMapRoute[];
}

/**
 * Every route of every known feature app and of the platform, read by the platform's own
 * {@link RouteInventory} from the Nest module graph. The graph is built in Nest's preview mode:
 * no provider runs, so no database, provider or port is touched.
 *
 * @param apps feature apps to include (default: every app the platform knows)
 */
export async function loadRouteInventory(apps: FeatureApp[] = FEATURE_APPS): Promise<{ routes: RouteEntry[]; registry: AppRegistry }> {
  const config = parsePlatformConfig({ NODE_ENV: 'test', DATA_DIR: path.join(process.cwd(), 'data', 'access-map-unused') });
  const context = await NestFactory.createApplicationContext(AppModule.forRoot(config, pino({ level: 'silent' }), apps), { preview: true, logger: false, abortOnError: false });
  try {
    const registry = new AppRegistry([...apps.map((a) => a.manifest), PLATFORM_APP]);
    const inventory = new RouteInventory(new DiscoveryService(context.get(ModulesContainer)), new MetadataScanner(), new Reflector(), registry);
    return { routes: inventory.routes(), registry };
  } finally {
    await context.close();
  }
}

/**
 * A policy service holding the policy of `policyFile`, validated against the permissions the
 * apps declare, exactly as the platform loads it at start-up.
 * @throws PolicyError naming every problem of the file
 */
export function loadPolicy(policyFile: string, registry: AppRegistry): PolicyService {
  const service = new PolicyService({ policyFile } as PlatformConfig, registry);
  service.use(parsePolicy(readFileSync(policyFile, 'utf8'), policyFile, new Set(registry.permissions().keys())));
  return service;
}

/** A principal holding only `roles` (a person) or only `scopes` (a machine), for policy questions. */
export function profilePrincipal(profile: { roles?: string[]; scopes?: string[]; tenant?: string | null }): Principal {
  const machine = profile.scopes !== undefined;
  return {
    subject: 'access-map',
    type: machine ? 'service' : 'user',
    tenant: profile.tenant === undefined ? 'any-tenant' : profile.tenant,
    roles: profile.roles ?? [],
    boundRoles: [],
    scopes: profile.scopes ?? [],
    clientId: null,
    issuer: 'access-map',
    expiresAt: 0,
    tokenId: null,
    actors: [],
    boundKeyThumbprint: null,
    claims: {},
  };
}

/**
 * Resolves, for every route, which roles, mapped identity-provider roles and scopes the policy
 * grants it to. Every answer comes from {@link PolicyService.decide}, the guard's own decision.
 */
export function buildAccessMap(routes: RouteEntry[], policy: PolicyService, policyFile: string): AccessMap {
  const doc: PolicyDocument = policy.current;
  const roleNames = Object.keys(doc.roles).sort();
  const scopeNames = Object.keys(doc.scopes).sort();
  const rows = routes
    .map((route): AccessMapRoute => {
      const p = route.policy;
      const base = {
        method: route.method,
        path: route.path,
        app: route.app,
        handler: route.handler,
        policy: p?.kind ?? ('none' as const),
        permissions: p?.kind === 'permissions' ? [...p.permissions] : [],
        tenant: p && p.kind !== 'public' ? p.tenant : null,
        dpop: p && p.kind !== 'public' ? (p.dpop ?? null) : null,
      };
      if (p === undefined) return { ...base, roles: [], mappedFrom: [], scopes: [] };
      if (p.kind !== 'permissions') return { ...base, roles: ['*'], mappedFrom: [], scopes: ['*'] };
      const grants = (principal: Principal) => policy.decide(principal, p.permissions).allowed;
      return {
        ...base,
        roles: roleNames.filter((role) => grants(profilePrincipal({ roles: [role] }))),
        mappedFrom: doc.roleMappings
          .filter((m) => grants(profilePrincipal({ roles: [m.from], tenant: m.tenant ?? 'any-tenant' })))
          .map((m) => `${m.from} -> ${m.to.join(', ')}${m.tenant ? ` @${m.tenant}` : ''}`),
        scopes: scopeNames.filter((scope) => grants(profilePrincipal({ scopes: [scope] }))),
      };
    })
    .sort((a, b) => a.app.localeCompare(b.app) || a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
  return {
    policyFile,
    roles: roleNames.map((name) => {
      const closure = policy.effectiveRoles({ roles: [name], tenant: null });
      return {
        name,
        description: doc.roles[name].description ?? '',
        includes: closure.filter((r) => r !== name).sort(),
        permissions: [...new Set(closure.flatMap((r) => doc.roles[r].permissions))].sort(),
      };
    }),
    scopes: scopeNames.map((name) => ({ name, description: doc.scopes[name].description ?? '', permissions: [...doc.scopes[name].permissions] })),
    routes: rows,
  };
}

const cell = (values: string[]) => (values.length ? values.map((v) => (v === '*' ? 'any' : `\`${v}\``)).join(', ') : '—');

/** The map as Markdown: roles with includes resolved, scopes, then one table of routes per app. */
export function renderAccessMapMarkdown(map: AccessMap): string {
  const lines = [
    '# Access map',
    '',
    `Generated by \`npm run access-map\` from the route inventory and \`${map.policyFile}\`; do not edit.`,
    'CI fails when it is stale, so a change to who may call what shows in the pull request.',
    '',
    '- **Roles**: the platform roles whose holders get the route (includes resolved). **Mapped from**: identity-provider roles or groups that get it through `roleMappings`.',
    '- **Scopes**: each scope that alone grants the route to a machine (the tenant must also have granted it to the client).',
    '- **Tenant** `required`: a token naming no tenant is refused (403 `tenant_required`). **DPoP**: machines and agents need a DPoP-bound token.',
    '- `any`: every caller (public) or every authenticated principal.',
    '',
    '## Roles',
    '',
    '| Role | Includes | Permissions |',
    '| --- | --- | --- |',
    ...map.roles.map((r) => `| \`${r.name}\` | ${cell(r.includes)} | ${cell(r.permissions)} |`),
    '',
    '## Scopes',
    '',
    '| Scope | Permissions |',
    '| --- | --- |',
    ...map.scopes.map((s) => `| \`${s.name}\` | ${cell(s.permissions)} |`),
  ];
  for (const app of [...new Set(map.routes.map((r) => r.app))]) {
    lines.push('', `## ${app}`, '', '| Method | Path | Needs | Roles | Mapped from | Scopes | Tenant | DPoP |', '| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const r of map.routes.filter((route) => route.app === app)) {
      const needs = r.policy === 'permissions' ? cell(r.permissions) : r.policy;
      lines.push(`| ${r.method} | \`${r.path}\` | ${needs} | ${cell(r.roles)} | ${cell(r.mappedFrom)} | ${cell(r.scopes)} | ${r.tenant ?? '—'} | ${r.dpop ? 'machines' : '—'} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The map as pretty JSON with a trailing newline (stable: sorted routes, roles and scopes). */
export function renderAccessMapJson(map: AccessMap): string {
  return `${JSON.stringify(map, null, 2)}\n`;
}
