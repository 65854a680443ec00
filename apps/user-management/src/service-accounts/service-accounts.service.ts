import { Injectable } from '@nestjs/common';
import {
  MachineClientRegistrar,
  PolicyService,
  ServiceAccountRegistry,
  type ServiceAccountRow,
  type TenantPrincipal,
} from '@platform/auth';
import {
  ConflictError,
  ForbiddenChangeError,
  InvalidRequestError,
  readPage,
  ResourceNotFoundError,
  type Page,
  type PageQuery,
} from '@platform/http';
import { toServiceAccountDto, type RegisterServiceAccountInput, type ServiceAccountDto } from './service-account.dto';

/**
 * Machine clients of the caller's tenant and the scopes each may use. The binding is what the
 * guard enforces: a service principal gets the permissions of its granted scopes only, whatever
 * its token carries. Changes apply on every instance within a second.
 */
@Injectable()
export class ServiceAccountsService {
  constructor(
    // The table is the auth library's (the guard reads it): its registry writes it and applies each change.
    private readonly repository: ServiceAccountRegistry,
    private readonly policy: PolicyService,
    private readonly registrar: MachineClientRegistrar,
  ) {}

  /**
   * Registers a machine client: binds `clientId` (a client of the external identity provider, for
   * its tokens naming this tenant only), or without one creates the client at the development
   * provider and returns its secret once.
   *
   * @throws InvalidRequestError `unknown_scope`, `client_id_required`; ForbiddenChangeError
   *   `cannot_grant_scope` (a scope granting a permission the caller does not hold); ConflictError
   *   `client_already_registered`
   */
  async register(principal: TenantPrincipal, input: RegisterServiceAccountInput): Promise<ServiceAccountDto> {
    const tenant = principal.tenant;
    this.assertMayGrant(principal, input.scopes);
    let clientId = input.clientId;
    let clientSecret: string | undefined;
    if (clientId === undefined) {
      if (!this.registrar.issuesClients)
        throw new InvalidRequestError(
          'client_id_required',
          'Create the client at your identity provider and give its clientId.',
        );
      ({ clientId, clientSecret } = await this.registrar.create(tenant, input.scopes));
    }
    const row = await this.repository.register({
      tenant,
      clientId,
      name: input.name,
      scopes: input.scopes,
      createdBy: principal.subject,
    });
    if (!row)
      throw new ConflictError(
        'client_already_registered',
        'This client is already registered as a service account of your tenant.',
      );
    return toServiceAccountDto(row, clientSecret);
  }

  list(principal: TenantPrincipal, query: PageQuery): Promise<Page<ServiceAccountDto>> {
    return readPage(
      query,
      (limit, after) => this.repository.listByTenant(principal.tenant, limit, after),
      (row) => toServiceAccountDto(row),
    );
  }

  async get(principal: TenantPrincipal, id: string): Promise<ServiceAccountDto> {
    return toServiceAccountDto(await this.find(principal, id));
  }

  /** Deactivated accounts are denied everywhere at once, even with a valid token; reactivation restores them. */
  async setStatus(
    principal: TenantPrincipal,
    id: string,
    status: 'active' | 'deactivated',
  ): Promise<ServiceAccountDto> {
    const row = await this.repository.setStatus(principal.tenant, id, status);
    if (!row) throw notFound();
    return toServiceAccountDto(row);
  }

  /**
   * Replaces the scopes a client may use. Its tokens may still carry the old ones (the identity
   * provider's client is unchanged): the guard ignores them (`scope_not_granted`).
   * @throws as {@link register} for the scopes; ResourceNotFoundError `service_account_not_found`
   */
  async setScopes(principal: TenantPrincipal, id: string, scopes: string[]): Promise<ServiceAccountDto> {
    this.assertMayGrant(principal, scopes);
    const row = await this.repository.setScopes(principal.tenant, id, scopes);
    if (!row) throw notFound();
    return toServiceAccountDto(row);
  }

  /** Least privilege both ways: nobody hands a machine a permission they do not hold themselves. */
  private assertMayGrant(principal: TenantPrincipal, scopes: string[]): void {
    for (const scope of scopes) {
      const definition = Object.hasOwn(this.policy.current.scopes, scope)
        ? this.policy.current.scopes[scope]
        : undefined;
      if (!definition)
        throw new InvalidRequestError('unknown_scope', `The policy defines no scope "${scope}".`, { scope });
      if (!this.policy.decide(principal, definition.permissions).allowed) {
        throw new ForbiddenChangeError(
          'cannot_grant_scope',
          `You may grant only scopes whose permissions you hold ("${scope}" grants ${definition.permissions.join(', ')}).`,
          { scope },
        );
      }
    }
  }

  private async find(principal: TenantPrincipal, id: string): Promise<ServiceAccountRow> {
    const row = await this.repository.findInTenant(principal.tenant, id);
    if (!row) throw notFound();
    return row;
  }
}

const notFound = () =>
  new ResourceNotFoundError('service_account_not_found', 'No service account with this id exists in your tenant.');
