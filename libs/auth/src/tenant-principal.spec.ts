import { Controller, Get } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import type { ExecutionContext } from '@nestjs/common';
import { ProblemException } from '@platform/http';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { RouteInventory } from './route-inventory';
import type { Principal } from './principal';
import { Authenticated, RequirePermissions } from './route-policy';
import { hasTenant, TENANT_PRINCIPAL_PARAM, TenantPrincipal, tenantPrincipalOf } from './tenant-principal';

const principal = { subject: 'alice', tenant: 't1' } as Principal;
const contextWith = (p: Principal | undefined) =>
  ({ switchToHttp: () => ({ getRequest: () => ({ platform: { principal: p } }) }) }) as unknown as ExecutionContext;

@Controller('x')
class Fixture {
  @Get()
  @RequirePermissions('billing:invoices:read')
  read(@TenantPrincipal() _p: TenantPrincipal) {}

  @Get('me')
  @Authenticated({ tenant: 'optional' })
  me() {}
}

@Controller('y')
class OptionalTenantFixture {
  @Get()
  @Authenticated({ tenant: 'optional' })
  read(@TenantPrincipal() _p: TenantPrincipal) {}
}

async function inventoryOf(...controllers: Array<new () => unknown>): Promise<RouteInventory> {
  const module = await Test.createTestingModule({
    imports: [DiscoveryModule],
    controllers,
    providers: [RouteInventory],
  }).compile();
  return module.get(RouteInventory);
}

describe('@TenantPrincipal()', () => {
  it('is refused at start-up on a route that does not require a tenant (a programming error)', async () => {
    await expect(inventoryOf(Fixture).then((inventory) => inventory.assertRoutesCovered())).resolves.toBeUndefined();
    await expect(
      inventoryOf(OptionalTenantFixture).then((inventory) => inventory.assertRoutesCovered()),
    ).rejects.toThrow(
      /GET \/y \(OptionalTenantFixture\.read\): takes @TenantPrincipal\(\) on a route that does not require a tenant/,
    );
  });

  it('gives the principal of a tenant route, typed with its tenant', () => {
    const injected: TenantPrincipal = tenantPrincipalOf(undefined, contextWith(principal));
    expect(injected.tenant).toBe('t1');
  });
  it('refuses with 403 tenant_required (never a 500) when there is no tenant after all', () => {
    for (const p of [{ ...principal, tenant: null }, undefined]) {
      let thrown: unknown;
      try {
        tenantPrincipalOf(undefined, contextWith(p));
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ProblemException);
      expect((thrown as ProblemException).getStatus()).toBe(403);
      expect((thrown as ProblemException).reason).toBe('tenant_required');
    }
  });
  it('marks the handler for the start-up check and registers the Nest parameter', () => {
    const { read, me } = Object.getOwnPropertyDescriptors(Fixture.prototype);
    expect(Reflect.getMetadata(TENANT_PRINCIPAL_PARAM, read.value as object)).toBe(true);
    expect(Reflect.getMetadata(TENANT_PRINCIPAL_PARAM, me.value as object)).toBeUndefined();
    const args = Object.values(
      Reflect.getMetadata(ROUTE_ARGS_METADATA, Fixture, 'read') as Record<string, { factory: unknown }>,
    );
    expect(args.map((a) => a.factory)).toContain(tenantPrincipalOf);
  });
  it('hasTenant narrows a principal', () => {
    expect(hasTenant(principal)).toBe(true);
    expect(hasTenant({ ...principal, tenant: null })).toBe(false);
  });
});
