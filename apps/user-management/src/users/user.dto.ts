import { IsString, Length, Matches } from 'class-validator';
import type { UserRow } from './user.schema';

/** A user as the API returns it. */
export interface UserDto {
  id: string;
  tenant: string;
  subject: string;
  type: 'user' | 'service';
  email: string | null;
  name: string | null;
  /** Platform roles granted inside the platform (beyond those the user's tokens carry). */
  boundRoles: string[];
  status: 'active' | 'deactivated';
  createdAt: string;
  lastSeenAt: string;
}

/** Body of `POST /users/:id/roles`. */
export class GrantRoleInput {
  @IsString()
  @Length(1, 100)
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/)
  role!: string;
}

export function toUserDto(row: UserRow, access: { boundRoles: readonly string[]; deactivated: boolean }): UserDto {
  return {
    id: row.id,
    tenant: row.tenant,
    subject: row.subject,
    type: row.type,
    email: row.email,
    name: row.name,
    boundRoles: [...access.boundRoles],
    status: access.deactivated ? 'deactivated' : 'active',
    createdAt: row.createdAt.toISOString(),
    lastSeenAt: row.lastSeenAt.toISOString(),
  };
}
