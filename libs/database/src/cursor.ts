import { and, eq, lt, or, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';

/**
 * The keyset condition "older than the cursor" for a (created_at desc, id desc) ordering;
 * undefined (no condition) without a cursor.
 */
export function olderThan(
  createdAt: AnyPgColumn,
  id: AnyPgColumn,
  cursor: { createdAt: Date; id: string } | undefined,
): SQL | undefined {
  if (!cursor) return undefined;
  return or(lt(createdAt, cursor.createdAt), and(eq(createdAt, cursor.createdAt), lt(id, cursor.id)));
}
