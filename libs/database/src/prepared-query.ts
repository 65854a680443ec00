import { createRequire } from 'node:module';
import { DatabaseError, type FieldDef } from 'pg';

// pg's own value serializer (Date, Buffer, arrays, JSON...), so that parameters go out exactly as pg sends them.
const { prepareValue } = createRequire(__filename)('pg/lib/utils') as { prepareValue: (value: unknown) => unknown };

/** What `types` in a query config (or the client's type overrides) gives: pg's type parser lookup. */
export interface TypeParsers {
  getTypeParser(oid: number, format?: string): (value: string) => unknown;
}

/** The row description of one named statement, with a parser per column built from it once. */
interface Described {
  text: string;
  types: TypeParsers;
  fields: FieldDef[];
  parsers: Array<(value: string) => unknown>;
}

/**
 * What one backend session holds of named statements, seen from the client: each statement's row
 * description (so that its executions skip Describe), and the names to close and parse again
 * before their next execution. One per PostgreSQL connection; one shared by every connection of
 * the embedded PGlite, whose connections share a single backend (and its statements).
 */
export class StatementCache {
  /** Statement name -> its row description and parsers (valid for that text and those type parsers). */
  readonly described = new Map<string, Described>();
  /** Names whose backend statement must be closed and parsed again (see {@link REPREPARE_CODES}). */
  readonly stale = new Set<string>();
  /** Executions so far of unnamed statement texts with parameters (see {@link autoName}); bounded. */
  private readonly executions = new Map<string, number>();
  /** Unnamed statement text -> the name it runs under once prepared automatically. */
  private readonly autoNames = new Map<string, string>();

  /**
   * @param autoPrepare an unnamed statement with parameters becomes a named one on its `after`-th
   *   execution on this backend (pgjdbc's `prepareThreshold`), for at most `max` texts; 0 turns it off.
   *   Named `<prefix><n>` (default `platform_auto_`): one cache per backend, so names never clash.
   */
  constructor(readonly autoPrepare: { after: number; max: number; prefix?: string } = AUTO_PREPARE) {}

  /**
   * The name an unnamed statement with parameters runs under: undefined until it has been
   * executed `autoPrepare.after` times, once `autoPrepare.max` texts are named, and for texts
   * longer than {@link AUTO_PREPARE_MAX_TEXT} (one-off texts, such as multi-row VALUES lists of
   * every length, never fill the backend; at most `4 * max` texts are counted at once).
   */
  autoName(text: string): string | undefined {
    const named = this.autoNames.get(text);
    if (named !== undefined || this.autoPrepare.after <= 0) return named;
    if (this.autoNames.size >= this.autoPrepare.max || text.length > AUTO_PREPARE_MAX_TEXT) return undefined;
    const count = (this.executions.get(text) ?? 0) + 1;
    if (count < this.autoPrepare.after) {
      // One-off texts must not pile up (nor stop the counting for good): start over when many are counted.
      if (count === 1 && this.executions.size >= this.autoPrepare.max * 4) this.executions.clear();
      this.executions.set(text, count);
      return undefined;
    }
    this.executions.delete(text);
    const name = `${this.autoPrepare.prefix ?? 'platform_auto_'}${this.autoNames.size + 1}`;
    this.autoNames.set(text, name);
    return name;
  }
}

/**
 * Automatic preparation: the 3rd execution of a text on a backend prepares it (later ones skip
 * Parse, planning reuses the plan cache, Describe is skipped); at most 200 texts per backend.
 */
export const AUTO_PREPARE = { after: 3, max: 200 } as const;

/** Longest text (characters) prepared automatically: a long text is a one-off (a long VALUES list), and each is held twice. */
export const AUTO_PREPARE_MAX_TEXT = 4096;

/** The part of pg's `Connection` (pg 8.x, lib/connection.js) a submittable drives. */
export interface PgConnection {
  parsedStatements: Record<string, string | undefined>;
  submittedNamedStatements: Record<string, string | undefined>;
  stream: { cork?(): void; uncork?(): void };
  parse(message: { name: string; text: string }): void;
  bind(message: object): void;
  describe(message: { type: 'P' | 'S'; name: string }): void;
  execute(message: { portal: string }): void;
  close(message: { type: 'P' | 'S'; name: string }): void;
  sync(): void;
  sendCopyFail(message: string): void;
}

/** What the query resolves to: the fields drizzle and pg callers read of pg's `Result`, rows as arrays. */
export interface ArrayResult {
  command: string | null;
  rowCount: number | null;
  oid: number | null;
  rows: unknown[][];
  fields: FieldDef[];
  rowAsArray: boolean;
}

/**
 * SQLSTATEs after which the backend's statement is unusable as it is: "cached plan must not change
 * result type" (a schema change under a prepared statement: the backend refuses it on every later
 * execution) and "prepared statement does not exist" (DEALLOCATE, DISCARD).
 */
const REPREPARE_CODES = new Set(['0A000', '26000']);

/**
 * Whether `types` parses the described columns with the very parsers kept: the same type parsers
 * object, or another giving the same functions (drizzle builds a `types` object per unprepared
 * query; each PGlite client has its own defaults). A statement without columns needs none.
 */
function sameParsers(described: Described, types: TypeParsers): boolean {
  if (described.types === types) return true;
  const { fields, parsers } = described;
  for (let i = 0; i < fields.length; i++) {
    if (types.getTypeParser(fields[i].dataTypeID, fields[i].format || 'text') !== parsers[i]) return false;
  }
  return true;
}

const COMMAND = /^([A-Za-z]+)(?: (\d+))?(?: (\d+))?/;

/**
 * One execution of a named statement in array row mode, as a pg "submittable" (the protocol its
 * `Client` drives, like pg's own `Query`). The first execution of the statement on a backend sends
 * Parse (unless pg already did) + Bind + Describe + Execute + Sync and keeps the row description
 * and its column parsers in the {@link StatementCache}; later ones send Bind + Execute + Sync and
 * parse rows with those parsers. Rows, errors and type parsing are those of pg's `Query`.
 *
 * A server error drops the statement's description (the next execution describes it again); after
 * one of {@link REPREPARE_CODES}, the next execution also closes and parses the statement again, so
 * a schema change costs the one execution that meets it, where pg alone fails until reconnection.
 */
export class PreparedArrayQuery {
  /** Called once with the outcome (pg's client wraps it, e.g. for query_timeout). */
  callback?: (err: Error | null, result?: ArrayResult) => void;
  private readonly result: ArrayResult = {
    command: null,
    rowCount: null,
    oid: null,
    rows: [],
    fields: [],
    rowAsArray: true,
  };
  private parsers?: Array<(value: string) => unknown>;
  private describing = false;
  /** A failure on this side (a value that cannot be sent, a parser that throws), reported once the backend is in sync. */
  private failure?: Error;
  private done = false;

  /**
   * @param name statement name (pg's client reads `name` and `text` for its bookkeeping)
   * @param values parameters, serialized as pg does
   * @param types the type parsers (the config's `types`, else the client's)
   */
  constructor(
    readonly name: string,
    readonly text: string,
    private readonly values: unknown[] | undefined,
    private readonly types: TypeParsers,
    private readonly cache: StatementCache,
    /** Rows as objects keyed by column name (pg's default row mode), not arrays. */
    private readonly objectRows = false,
  ) {
    if (objectRows) this.result.rowAsArray = false;
  }

  /** Writes the messages of this execution. @returns an Error (reported by pg's client) when it cannot run */
  submit(connection: PgConnection): Error | null {
    const { name, text } = this;
    const previous = connection.parsedStatements[name] ?? connection.submittedNamedStatements[name];
    if (text && previous && text !== previous) {
      return new Error(`Prepared statements must be unique - '${name}' was used for a different statement`);
    }
    let described = this.cache.described.get(name);
    if (described && (described.text !== text || !sameParsers(described, this.types))) described = undefined;
    const reprepare = this.cache.stale.delete(name);
    connection.stream.cork?.();
    try {
      if (reprepare || previous === undefined) {
        // Closing a statement the backend does not hold is no error.
        if (reprepare) connection.close({ type: 'S', name });
        connection.parse({ name, text });
        connection.submittedNamedStatements[name] = text;
      }
      try {
        connection.bind({ portal: '', statement: name, values: this.values, binary: false, valueMapper: prepareValue });
      } catch (err) {
        this.failure = err as Error;
        connection.sync();
        return null;
      }
      if (described) {
        this.parsers = described.parsers;
        this.result.fields = described.fields;
      } else {
        this.describing = true;
        connection.describe({ type: 'P', name: '' });
      }
      connection.execute({ portal: '' });
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  // The handle* methods below are pg's submittable protocol: its client calls them per backend message.

  /** The answer to Describe: builds the column parsers and keeps them for later executions. */
  handleRowDescription(message: { fields: FieldDef[] }): void {
    const parsers = message.fields.map((field) => this.types.getTypeParser(field.dataTypeID, field.format || 'text'));
    this.parsers = parsers;
    this.result.fields = message.fields;
    this.cache.described.set(this.name, { text: this.text, types: this.types, fields: message.fields, parsers });
  }

  /** One row (text-format values, null for SQL NULL), parsed as pg's array row mode does. */
  handleDataRow(message: { fields: Array<string | null> }): void {
    if (this.failure) return;
    const raw = message.fields;
    const parsers = this.parsers;
    if (!parsers) {
      this.failure = new Error(`Row without a row description for prepared statement '${this.name}'`);
      return;
    }
    const row = new Array<unknown>(raw.length);
    try {
      for (let i = 0; i < raw.length; i++) {
        const value = raw[i];
        row[i] = value === null ? null : parsers[i](value);
      }
    } catch (err) {
      this.failure = err as Error;
      return;
    }
    if (!this.objectRows) {
      this.result.rows.push(row);
      return;
    }
    // As pg's object rows: keys in column order, a repeated column name keeps its last value.
    const fields = this.result.fields;
    const object: Record<string, unknown> = {};
    for (let i = 0; i < row.length; i++) object[fields[i].name] = row[i];
    (this.result.rows as unknown[]).push(object);
  }

  /** The command tag (e.g. `SELECT 3`, `INSERT 0 2`): command, oid and row count, as pg's Result reads it. */
  handleCommandComplete(message: { text: string }): void {
    const match = COMMAND.exec(message.text);
    if (!match) return;
    this.result.command = match[1];
    if (match[3]) {
      this.result.oid = parseInt(match[2], 10);
      this.result.rowCount = parseInt(match[3], 10);
    } else if (match[2]) {
      this.result.rowCount = parseInt(match[2], 10);
    }
  }

  handleEmptyQuery(): void {}

  handlePortalSuspended(): void {}

  /** A COPY FROM STDIN statement: refused, as pg's Query does. */
  handleCopyInResponse(connection: PgConnection): void {
    connection.sendCopyFail('No source stream defined');
  }

  handleCopyData(): void {}

  /** A server error (the client has already let go of this query), a lost connection, a timeout, or our own failure. */
  handleError(err: Error, connection: PgConnection): void {
    if (err instanceof DatabaseError) {
      this.cache.described.delete(this.name);
      if (REPREPARE_CODES.has(err.code ?? '')) {
        delete connection.parsedStatements[this.name];
        this.cache.stale.add(this.name);
      }
    }
    // As pg's Query: a row that failed to parse is the error reported, whatever followed it.
    const failure = this.failure ?? err;
    this.failure = undefined;
    this.finish(failure);
  }

  /** The end of this execution: the result, or the failure kept until the backend was in sync again. */
  handleReadyForQuery(connection: PgConnection): void {
    if (this.failure) return this.handleError(this.failure, connection);
    // A statement without rows answers Describe with NoData: remember that too.
    if (this.describing && !this.parsers) {
      this.cache.described.set(this.name, { text: this.text, types: this.types, fields: [], parsers: [] });
    }
    this.finish(null, this.result);
  }

  private finish(err: Error | null, result?: ArrayResult): void {
    if (this.done) return;
    this.done = true;
    const callback = this.callback;
    if (!callback) return;
    if (err) return callback(err);
    try {
      callback(null, result);
    } catch (thrown) {
      // As pg's Query: an exception of the caller's callback must not corrupt the connection's state.
      process.nextTick(() => {
        throw thrown;
      });
    }
  }
}
