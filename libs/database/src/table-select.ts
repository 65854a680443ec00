import {
  Column,
  fillPlaceholders,
  getTableColumns,
  type ColumnBaseConfig,
  type ColumnDataType,
  type Table,
} from 'drizzle-orm';
import { types as pgTypes } from 'pg';
import type { Db } from './database.service';

/** Whole tables selected under keys, as in `db.select({ invoice: invoices, line: invoiceLines })`. */
export type TableSelection = Record<string, Table>;

/** One mapped row of a {@link TableSelection}: each key's table row; `null` for a key in `N` (outer-joined) that matched nothing. */
export type TableSelectionRow<S extends TableSelection, N extends keyof S = never> = {
  [K in keyof S]: K extends N ? S[K]['$inferSelect'] | null : S[K]['$inferSelect'];
};

/** A column of the array row: its key in the table's object, its place, its decoder (none: the value as it comes). */
interface Slot {
  key: string;
  index: number;
  decode?: (value: unknown) => unknown;
}

/** drizzle's base `mapFromDriverValue` is the identity (text, uuid...): not called. */
function decoderOf(
  column: Column<ColumnBaseConfig<ColumnDataType, string>>,
): ((value: unknown) => unknown) | undefined {
  return column.mapFromDriverValue === Column.prototype.mapFromDriverValue
    ? undefined
    : (value) => column.mapFromDriverValue(value);
}

/**
 * The mapper of a drizzle select of whole tables run in array row mode (each table's columns in
 * `getTableColumns` order, the tables in the selection's key order: drizzle's own layout), built
 * once per query instead of walked per row. Gives the objects drizzle's `mapResultRow` gives: every
 * non-null value through its column's `mapFromDriverValue`, and, for the keys in `nullable` (tables
 * on the outer side of a join), `null` when every column of that table is null.
 *
 * @param selection the object given to `db.select(...)`
 * @param nullable keys of the tables that may be missing (left-joined)
 */
export function tableRowsMapper<S extends TableSelection, N extends keyof S & string = never>(
  selection: S,
  nullable: readonly N[] = [],
): (rows: unknown[][]) => TableSelectionRow<S, N>[] {
  let index = 0;
  const groups = Object.entries(selection).map(([name, table]) => ({
    name,
    nullable: (nullable as readonly string[]).includes(name),
    slots: Object.entries(getTableColumns(table)).map(([key, column]): Slot => ({
      key,
      index: index++,
      decode: decoderOf(column as Column<ColumnBaseConfig<ColumnDataType, string>>),
    })),
  }));
  const mapRow = (row: unknown[]): TableSelectionRow<S, N> => {
    const out: Record<string, Record<string, unknown> | null> = {};
    for (const group of groups) {
      const object: Record<string, unknown> = {};
      let present = false;
      for (const { key, index: at, decode } of group.slots) {
        const value = row[at];
        if (value === null || value === undefined) {
          object[key] = null;
        } else {
          present = true;
          object[key] = decode ? decode(value) : value;
        }
      }
      out[group.name] = group.nullable && !present ? null : object;
    }
    return out as TableSelectionRow<S, N>;
  };
  return (rows) => rows.map(mapRow);
}

/** Type OIDs drizzle's node-postgres driver leaves as text for its column decoders (timestamps, dates, intervals and their arrays). */
const AS_TEXT = new Set([1184, 1114, 1082, 1186, 1231, 1115, 1185, 1187, 1182]);
const asText = (value: string): string => value;

/** drizzle's node-postgres type parsers: the text of the types in {@link AS_TEXT}, pg's parser for the others. */
const DRIZZLE_TYPES = {
  getTypeParser: (oid: number, format?: string): ((value: string) => unknown) =>
    AS_TEXT.has(oid) ? asText : (pgTypes.getTypeParser(oid, format as 'text') as (value: string) => unknown),
};

/** The part of a pg pool {@link preparedTableSelect} uses. */
interface PgQueryable {
  query(config: object, values: unknown[]): Promise<{ rows: unknown[][] }>;
}

/** What {@link preparedTableSelect} needs of a drizzle select builder: its SQL with placeholders. */
export interface SelectSql {
  toSQL(): { sql: string; params: unknown[] };
}

/**
 * A drizzle select of whole tables run as a named prepared statement in array row mode (what
 * drizzle's `.prepare(name)` sends, so the platform client skips Describe as for drizzle's), with
 * its rows mapped by {@link tableRowsMapper}: the same rows as `.prepare(name).execute(values)`
 * without drizzle's per-execution work (its per-row, per-column mapping walk and the async layers
 * around the driver call). The SQL is built once by drizzle; `values` fill its `sql.placeholder`s.
 * It runs beside drizzle's execution path: a drizzle logger or query hook would not see it (none
 * is configured; pg's OpenTelemetry instrumentation does see it). For the hot reads only.
 *
 * @param db the database (`DatabaseService.db`): its pg pool runs the statement
 * @param query the select builder, placeholders in place of the values (not executed)
 * @param name statement name, unique per SQL text
 * @returns an executor resolving to the mapped rows; rejects with pg's error as `execute` would
 */
export function preparedTableSelect<S extends TableSelection, N extends keyof S & string = never>(
  db: Db,
  query: SelectSql,
  name: string,
  selection: S,
  nullable: readonly N[] = [],
): (values: Record<string, unknown>) => Promise<TableSelectionRow<S, N>[]> {
  const { sql: text, params } = query.toSQL();
  const config = { name, text, rowMode: 'array' as const, types: DRIZZLE_TYPES };
  const map = tableRowsMapper(selection, nullable);
  // drizzle's node-postgres database keeps its pool as `$client` (absent from the driver-neutral `Db` type).
  const client = (db as unknown as { $client?: PgQueryable }).$client;
  if (!client) throw new Error('preparedTableSelect needs a node-postgres database (drizzle-orm/node-postgres)');
  return async (values) => map((await client.query(config, fillPlaceholders(params, values))).rows);
}
