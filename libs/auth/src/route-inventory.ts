import { Injectable, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { ROUTE_POLICY, type RoutePolicy } from './route-policy';

/** One HTTP route of the application and the policy it declares (undefined: none). */
export interface RouteEntry {
  method: string;
  path: string;
  /** `Controller.handler`, for messages. */
  handler: string;
  policy: RoutePolicy | undefined;
}

const joinPath = (...parts: string[]) => `/${parts.flatMap((p) => p.split('/')).filter(Boolean).join('/')}`;

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
  ) {}

  routes(): RouteEntry[] {
    const entries: RouteEntry[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const { instance, metatype } = wrapper;
      if (!instance || !metatype) continue;
      const prefixes = [this.reflector.get<string | string[]>(PATH_METADATA, metatype) ?? ''].flat();
      const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name] as (...args: unknown[]) => unknown;
        const paths = this.reflector.get<string | string[] | undefined>(PATH_METADATA, handler);
        if (paths === undefined) continue;
        const method = RequestMethod[this.reflector.get<RequestMethod>(METHOD_METADATA, handler) ?? RequestMethod.GET];
        const policy = this.reflector.getAllAndOverride<RoutePolicy | undefined>(ROUTE_POLICY, [handler, metatype]);
        for (const prefix of prefixes) {
          for (const path of [paths].flat()) entries.push({ method, path: joinPath(prefix, path), handler: `${metatype.name}.${name}`, policy });
        }
      }
    }
    return entries;
  }

  /**
   * Deny by default, enforced at start-up: every route must declare a policy.
   * @throws Error naming every route without one
   */
  assertEveryRouteHasPolicy(): void {
    const offenders = this.routes().filter((r) => r.policy === undefined);
    if (offenders.length > 0) {
      throw new Error(
        `Routes without an access policy (add @Public(), @Authenticated() or @RequirePermissions(...)):\n${offenders
          .map((r) => `  ${r.method} ${r.path} (${r.handler})`)
          .join('\n')}`,
      );
    }
  }
}
