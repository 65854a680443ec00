import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { DiscoveryModule } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { AccessStateService } from './access/access-state.service';
import { ServiceAccountRegistry } from './access/service-account-registry';
import { DpopProofVerifier } from './dpop/dpop-proof-verifier';
import { RateLimiter } from './limits/rate-limiter';
import { PrincipalEvents } from './access/principal-events';
import { IssuerRegistry } from './issuer-registry';
import { JwtBearerStrategy } from './jwt-bearer.strategy';
import { PlatformAuthGuard } from './platform-auth.guard';
import { PolicyService } from './policy/policy.service';
import { RouteInventory } from './route-inventory';
import { VerifiedTokenCache } from './verified-token-cache';

/**
 * Authentication and authorization for every route of the platform: import once, in the root
 * module. Registers {@link PlatformAuthGuard} globally; feature apps only use the decorators.
 */
@Global()
@Module({
  imports: [PassportModule, DiscoveryModule],
  providers: [
    AccessStateService,
    ServiceAccountRegistry,
    PrincipalEvents,
    RouteInventory,
    IssuerRegistry,
    VerifiedTokenCache,
    JwtBearerStrategy,
    PolicyService,
    DpopProofVerifier,
    RateLimiter,
    { provide: APP_GUARD, useClass: PlatformAuthGuard },
  ],
  exports: [
    AccessStateService,
    ServiceAccountRegistry,
    PrincipalEvents,
    IssuerRegistry,
    PolicyService,
    RouteInventory,
    RateLimiter,
  ],
})
export class AuthModule {}
