// @platform/auth: what code outside this lib uses; everything else is internal (npm run lint:boundaries).
export { DPOP_ALGORITHMS } from './dpop/dpop-proof-verifier';
export { AuthModule } from './auth.module';
export { IssuerRegistry, type TrustedIssuer } from './issuer-registry';
export { isExactPermission } from './policy/permission';
export { parsePolicy, type PolicyDocument } from './policy/policy-document';
export { type PolicyExplanation, PolicyService } from './policy/policy.service';
export { type Principal } from './principal';
export { RequirePermissions, Public, Authenticated, CurrentPrincipal } from './route-policy';
export { type RouteEntry, RouteInventory } from './route-inventory';
export { ACCESS_CHANGED_CHANNEL, AccessStateService } from './access/access-state.service';
export { roleBindings, serviceAccounts, type ServiceAccountRow } from './access/access.schema';
export { ServiceAccountRegistry } from './access/service-account-registry';
export { MachineClientRegistrar } from './access/machine-client-registrar';
export { PrincipalEvents } from './access/principal-events';
export { hasTenant, TenantPrincipal, TENANT_PRINCIPAL_PARAM } from './tenant-principal';
export { recordGuardDecision } from './pipeline/decision-record';
export type { Refusal } from './pipeline/refusal';
