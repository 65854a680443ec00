import { Injectable } from '@nestjs/common';
import type { TenantPrincipal } from '@platform/auth';
import { ConflictError, readPage, ResourceNotFoundError, type Page, type PageQuery } from '@platform/http';
import { PlansService } from '../plans/plans.service';
import { toSubscriptionDto, type SubscriptionDto } from './subscription.dto';
import type { SubscriptionRow } from './subscription.schema';
import { SubscriptionsRepository } from './subscriptions.repository';

/** Subscriptions of the caller's tenant to plans of the catalogue. */
@Injectable()
export class SubscriptionsService {
  constructor(
    private readonly repository: SubscriptionsRepository,
    private readonly plans: PlansService,
  ) {}

  /** @throws ResourceNotFoundError `plan_not_found`; ConflictError `plan_archived`, `subscription_exists` (one active per tenant) */
  async create(principal: TenantPrincipal, planId: string): Promise<SubscriptionDto> {
    const plan = await this.plans.find(planId);
    if (!plan.active) throw new ConflictError('plan_archived', 'This plan takes no new subscriptions.');
    const row = await this.repository.create(principal.tenant, plan.id, principal.subject);
    if (!row)
      throw new ConflictError(
        'subscription_exists',
        'Your tenant already has an active subscription; cancel it first.',
      );
    return toSubscriptionDto(row);
  }

  list(principal: TenantPrincipal, query: PageQuery): Promise<Page<SubscriptionDto>> {
    return readPage(
      query,
      (limit, after) => this.repository.listByTenant(principal.tenant, limit, after),
      toSubscriptionDto,
    );
  }

  async get(principal: TenantPrincipal, id: string): Promise<SubscriptionDto> {
    return toSubscriptionDto(await this.find(principal, id));
  }

  /** @throws ResourceNotFoundError `subscription_not_found`; ConflictError `subscription_not_active` */
  async cancel(principal: TenantPrincipal, id: string): Promise<SubscriptionDto> {
    const row = await this.repository.cancel(principal.tenant, id);
    if (row) return toSubscriptionDto(row);
    await this.find(principal, id);
    throw new ConflictError('subscription_not_active', 'This subscription is already canceled.');
  }

  private async find(principal: TenantPrincipal, id: string): Promise<SubscriptionRow> {
    const row = await this.repository.findInTenant(principal.tenant, id);
    if (!row)
      throw new ResourceNotFoundError('subscription_not_found', 'No subscription with this id exists in your tenant.');
    return row;
  }
}
