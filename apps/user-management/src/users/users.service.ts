import { Injectable } from '@nestjs/common';
import type { Principal } from '@platform/auth';
import { decodeCursor, encodeCursor, type Page, type PageQuery } from '@platform/http';
import { toUserDto, type UserDto } from './user.dto';
import { UsersRepository } from './users.repository';

const claimString = (value: unknown) => (typeof value === 'string' && value.length <= 320 ? value : null);

@Injectable()
export class UsersService {
  constructor(private readonly repository: UsersRepository) {}

  /** The caller's own record, provisioned just in time from the token's claims. */
  async me(principal: Principal): Promise<UserDto> {
    const row = await this.repository.upsert({
      tenant: principal.tenant as string,
      issuer: principal.issuer,
      subject: principal.subject,
      type: principal.type,
      email: claimString(principal.claims.email),
      name: claimString(principal.claims.name) ?? claimString(principal.claims.preferred_username),
    });
    return toUserDto(row);
  }

  /** Users of the caller's tenant. */
  async list(principal: Principal, query: PageQuery): Promise<Page<UserDto>> {
    const limit = query.limit ?? 50;
    const rows = await this.repository.listByTenant(principal.tenant as string, limit + 1, query.cursor ? decodeCursor(query.cursor) : undefined);
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return { items: items.map(toUserDto), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
  }
}
