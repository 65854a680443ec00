import { Injectable } from '@nestjs/common';
import type { Principal } from '@platform/auth';
import { ConflictError, readPage, ResourceNotFoundError, type Page, type PageQuery } from '@platform/http';
import { toPlanDto, type CreatePlanInput, type PlanDto } from './plan.dto';
import type { PlanRow } from './plan.schema';
import { PlansRepository } from './plans.repository';

/** The plan catalogue: platform operators manage it, tenants subscribe to its active plans. */
@Injectable()
export class PlansService {
  constructor(private readonly repository: PlansRepository) {}

  /** @throws ConflictError `plan_code_taken` */
  async create(principal: Principal, input: CreatePlanInput): Promise<PlanDto> {
    const row = await this.repository.create({
      code: input.code,
      name: input.name,
      currency: input.currency,
      amountMinor: input.amount,
      interval: input.interval,
      createdBy: principal.subject,
    });
    if (!row) throw new ConflictError('plan_code_taken', `A plan with the code "${input.code}" exists.`);
    return toPlanDto(row);
  }

  list(query: PageQuery): Promise<Page<PlanDto>> {
    return readPage(query, (limit, after) => this.repository.list(limit, after), toPlanDto);
  }

  async get(id: string): Promise<PlanDto> {
    return toPlanDto(await this.find(id));
  }

  /** Archived plans take no new subscriptions; existing ones continue. */
  async archive(id: string): Promise<PlanDto> {
    const row = await this.repository.archive(id);
    if (!row) throw new ResourceNotFoundError('plan_not_found', 'No plan with this id exists.');
    return toPlanDto(row);
  }

  /** @throws ResourceNotFoundError `plan_not_found` */
  async find(id: string): Promise<PlanRow> {
    const row = await this.repository.find(id);
    if (!row) throw new ResourceNotFoundError('plan_not_found', 'No plan with this id exists.');
    return row;
  }
}
