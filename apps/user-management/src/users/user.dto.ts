import type { UserRow } from './user.schema';

/** A user as the API returns it. */
export interface UserDto {
  id: string;
  tenant: string;
  subject: string;
  type: 'user' | 'service';
  email: string | null;
  name: string | null;
  createdAt: string;
  lastSeenAt: string;
}

export function toUserDto(row: UserRow): UserDto {
  return {
    id: row.id,
    tenant: row.tenant,
    subject: row.subject,
    type: row.type,
    email: row.email,
    name: row.name,
    createdAt: row.createdAt.toISOString(),
    lastSeenAt: row.lastSeenAt.toISOString(),
  };
}
