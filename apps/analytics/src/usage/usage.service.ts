import { Injectable } from '@nestjs/common';
import { AuditRepository, AuditWriter } from '@platform/audit';
import { InvalidRequestError } from '@platform/http';

/** API usage of a tenant, read from the platform's audit trail. */
@Injectable()
export class UsageService {
  constructor(
    private readonly audit: AuditRepository,
    private readonly writer: AuditWriter,
  ) {}

  /**
   * Requests of `tenant` per app, route and decision in [from, to), most used first.
   * `from` is inclusive, `to` exclusive.
   * @throws InvalidRequestError `invalid_time_range` when `from` is not before `to`
   */
  async usage(tenant: string, from: Date, to: Date) {
    if (from >= to) throw new InvalidRequestError('invalid_time_range', '"from" must be before "to".');
    // Read your writes: records still queued are written first.
    await this.writer.flush();
    return { from: from.toISOString(), to: to.toISOString(), usage: await this.audit.usage(tenant, from, to) };
  }
}
