import { Controller, Get } from '@nestjs/common';
import { RequirePermissions, RouteInventory } from '@platform/auth';
import { AppRegistry } from '@platform/feature-apps';
import { PLATFORM_PERMISSIONS } from './platform-permissions';

/** A route as the inventory lists it. */
export interface RouteView {
  method: string;
  path: string;
  app: string;
  public: boolean;
  /** Required permissions; empty for public and authenticated-only routes. */
  permissions: string[];
  /** `public`, `authenticated` or `permissions`. */
  policy: string;
  tenantScoped: boolean;
}

/** What this deployment serves, for platform operators. */
@Controller('platform')
export class InventoryController {
  constructor(
    private readonly registry: AppRegistry,
    private readonly inventory: RouteInventory,
  ) {}

  /** The enabled apps with their owning team, declared permissions and machine scopes. */
  @Get('apps')
  @RequirePermissions(PLATFORM_PERMISSIONS.inventoryRead, { tenant: 'optional' })
  apps() {
    return { items: this.registry.apps.map((app) => ({ ...app })) };
  }

  /** Every route: method, path, app, whether public, and the permissions it requires. */
  @Get('routes')
  @RequirePermissions(PLATFORM_PERMISSIONS.inventoryRead, { tenant: 'optional' })
  routes(): { items: RouteView[] } {
    return {
      items: this.inventory.routes().map((route) => ({
        method: route.method,
        path: route.path,
        app: route.app,
        public: route.policy?.kind === 'public',
        permissions: route.policy?.kind === 'permissions' ? route.policy.permissions : [],
        policy: route.policy?.kind ?? 'none',
        tenantScoped:
          route.policy !== undefined && route.policy.kind !== 'public' && route.policy.tenant === 'required',
      })),
    };
  }
}
