import { Injectable, Optional, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { AppRegistry } from '@platform/feature-apps';
import { ROUTE_POLICY, type RoutePolicy } from './route-policy';
import { TENANT_PRINCIPAL_PARAM } from './tenant-principal';

/** One HTTP route of the application and the policy it declares (undefined: none). */
export interface RouteEntry {
  method: string;
  path: string;
  /** Owning app (by route prefix). */
  app: string;
  /** `Controller.handler`, for messages. */
  handler: string;
  policy: RoutePolicy | undefined;
  /** The handler takes a `@TenantPrincipal()` parameter. */
  tenantPrincipal?: true;
}

const joinPath = (...parts: string[]) =>
  `/${parts
    .flatMap((p) => p.split('/'))
    .filter(Boolean)
    .join('/')}`;

/**
 * Lists every controller route with its effective policy (handler metadata first, then class:
 * the same precedence as the guard). Used by the start-up coverage check.
 */
@Injectable()
export class RouteInventory {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    @Optional() private readonly registry?: AppRegistry,
  ) {}

  routes(): RouteEntry[] {
    const entries: RouteEntry[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const instance: unknown = wrapper.instance;
      const { metatype } = wrapper;
      if (!instance || !metatype) continue;
      const prefixes = [this.reflector.get<string | string[]>(PATH_METADATA, metatype) ?? ''].flat();
      const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name] as (...args: unknown[]) => unknown;
        const paths = this.reflector.get<string | string[] | undefined>(PATH_METADATA, handler);
        if (paths === undefined) continue;
        const method = RequestMethod[this.reflector.get<RequestMethod>(METHOD_METADATA, handler) ?? RequestMethod.GET];
        const policy = this.reflector.getAllAndOverride<RoutePolicy | undefined>(ROUTE_POLICY, [handler, metatype]);
        const tenantPrincipal = this.reflector.get<boolean | undefined>(TENANT_PRINCIPAL_PARAM, handler) === true;
        for (const prefix of prefixes) {
          for (const path of [paths].flat()) {
            const full = joinPath(prefix, path);
            entries.push({
              method,
              path: full,
              app: this.registry?.appFor(full) ?? 'platform',
              handler: `${metatype.name}.${name}`,
              policy,
              ...(tenantPrincipal && { tenantPrincipal }),
            });
          }
        }
      }
    }
    return entries;
  }

  /**
   * Deny by default, enforced at start-up: every route must declare a policy, every permission
   * a route requires must be declared by an app's manifest, and `@TenantPrincipal()` is only taken
   * on routes that require a tenant (elsewhere its principal could have none).
   *
   * @param options.allowMissingPolicy tests only: let undecorated routes through (the guard still refuses them)
   * @throws Error naming every offending route
   */
  assertRoutesCovered(options: { allowMissingPolicy?: boolean } = {}): void {
    const declared = this.registry?.permissions();
    const problems: string[] = [];
    for (const route of this.routes()) {
      const where = `${route.method} ${route.path} (${route.handler})`;
      if (
        route.tenantPrincipal &&
        (route.policy === undefined || route.policy.kind === 'public' || route.policy.tenant !== 'required')
      ) {
        problems.push(
          `${where}: takes @TenantPrincipal() on a route that does not require a tenant (use @CurrentPrincipal())`,
        );
      }
      if (route.policy === undefined) {
        if (!options.allowMissingPolicy)
          problems.push(`${where}: no access policy (add @Public(), @Authenticated() or @RequirePermissions(...))`);
      } else if (route.policy.kind === 'permissions') {
        for (const permission of route.policy.permissions) {
          if (declared && !declared.has(permission))
            problems.push(`${where}: requires "${permission}", which no app manifest declares`);
        }
      }
    }
    if (problems.length > 0)
      throw new Error(`Routes without a valid access policy:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}
