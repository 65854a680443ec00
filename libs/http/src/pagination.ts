import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { InvalidRequestError } from './platform-error';
import { isStorableInstant } from './rfc3339';

/** Query parameters of every list endpoint: a bounded page size and an opaque cursor. */
export class PageQuery {
  /** Page size, 1-200 (default 50). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  /** `nextCursor` of the previous page. */
  @IsOptional()
  @IsString()
  cursor?: string;
}

/** One page of a list, newest first; `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Position of a row in a (created_at desc, id desc) ordering; `created_at` columns have millisecond precision. */
export interface CursorPosition {
  createdAt: Date;
  id: string;
}

/** Encodes a position as an opaque base64url cursor. */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(`${position.createdAt.toISOString()}|${position.id}`).toString('base64url');
}

/** @throws InvalidRequestError `invalid_cursor` for anything {@link encodeCursor} did not make */
export function decodeCursor(cursor: string): CursorPosition {
  const [iso, id, extra] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(ISO_INSTANT.test(iso ?? '') ? iso : '');
  // A cursor names an instant: one PostgreSQL cannot hold (year 0000) was not issued here either.
  if (extra !== undefined || !UUID.test(id ?? '') || !isStorableInstant(createdAt.getTime())) {
    throw new InvalidRequestError('invalid_cursor', 'The cursor is not one this API issued.');
  }
  return { createdAt, id };
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Reads one page newest first: asks `fetch` for one row more than the page size, to know whether
 * another page follows, and maps the rows kept.
 *
 * @param fetch reads up to `limit` rows older than `after` (rows carry `createdAt` and `id`)
 * @throws InvalidRequestError `invalid_cursor` for a cursor this API did not issue
 */
export async function readPage<R extends CursorPosition, T>(
  query: PageQuery,
  fetch: (limit: number, after: CursorPosition | undefined) => Promise<R[]>,
  map: (row: R) => T,
): Promise<Page<T>> {
  const limit = query.limit ?? 50;
  const rows = await fetch(limit + 1, query.cursor ? decodeCursor(query.cursor) : undefined);
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items: items.map(map), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}
