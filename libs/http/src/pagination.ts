import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { InvalidRequestError } from './platform-error';

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
  if (extra !== undefined || !UUID.test(id ?? '') || Number.isNaN(createdAt.getTime())) {
    throw new InvalidRequestError('invalid_cursor', 'The cursor is not one this API issued.');
  }
  return { createdAt, id };
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
