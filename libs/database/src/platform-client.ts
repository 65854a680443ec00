import { Client } from 'pg';
import { PreparedArrayQuery, StatementCache, type ArrayResult, type TypeParsers } from './prepared-query';

export { StatementCache };

type Callback = (err: Error | null, result?: ArrayResult) => void;
type QueryMethod = (this: Client, config: unknown, values?: unknown, callback?: unknown) => unknown;

/** The only keys of a config sent as a {@link PreparedArrayQuery}; any other (queryMode, rows, binary...) goes to pg. */
const ROUTED_KEYS = new Set(['name', 'text', 'rowMode', 'types', 'values']);

interface RoutedConfig {
  name: string;
  text: string;
  types?: TypeParsers;
  values?: unknown[];
}

/** Whether `config` is a named statement in array row mode that {@link PreparedArrayQuery} runs as pg would. */
function routable(client: Client, config: unknown, values: unknown, callback: unknown): config is RoutedConfig {
  if (config === null || typeof config !== 'object') return false;
  const c = config as Record<string, unknown>;
  if (typeof c.name !== 'string' || c.name === '' || typeof c.text !== 'string' || c.rowMode !== 'array') return false;
  if (c.values !== undefined && !Array.isArray(c.values)) return false;
  return plainCall(client, c, values, callback);
}

/**
 * Whether a call carries nothing but what {@link PreparedArrayQuery} handles: a config of
 * {@link ROUTED_KEYS} only, parameters as an array (or a callback in their place), a function as
 * callback, on a client that is neither pipelined nor binary (pg's own Query is what those are
 * written against).
 */
function plainCall(client: Client, c: Record<string, unknown>, values: unknown, callback: unknown): boolean {
  for (const key in c) if (!ROUTED_KEYS.has(key)) return false;
  if (values !== undefined && typeof values !== 'function' && !Array.isArray(values)) return false;
  if (callback !== undefined && typeof callback !== 'function') return false;
  const flags = client as unknown as { pipeline?: unknown; binary?: unknown };
  return !flags.pipeline && !flags.binary;
}

/**
 * Only INSERTs without RETURNING are prepared automatically: their plan does not depend on the parameters' values, so
 * a cached generic plan costs nothing. A SELECT, UPDATE or DELETE whose generic plan was chosen on
 * other data (a table then small, a skewed tenant) can be many times slower than a custom plan
 * (measured: a keyset SELECT on a growing table, 3x the latency): those are prepared where their
 * author decided it (drizzle's `.prepare(name)`).
 */
const INSERT = /^\s*insert\s/i;

/**
 * An INSERT that returns rows is not prepared automatically: after a column's type changes under a
 * prepared statement, PostgreSQL refuses it ("cached plan must not change result type", once per
 * connection, aborting the transaction) where an unnamed one just runs. Without RETURNING there is
 * no result type to change.
 */
const RETURNING = /\breturning\b/i;

/**
 * An INSERT with parameters that may run as a named statement once repeated: a config of
 * text, values, types and row mode only (what drizzle sends for a query it did not prepare), or a
 * text with a parameter array (`client.query(text, values)`), with at
 * least one parameter (without, pg uses the simple protocol, which allows several statements).
 *
 * @returns the text and parameters, or undefined when pg's own path must run it
 */
function autoPreparable(
  client: Client,
  config: unknown,
  values: unknown,
  callback: unknown,
): { text: string; params: unknown[]; objectRows: boolean; types?: TypeParsers } | undefined {
  if (typeof config === 'string') config = { text: config };
  if (config === null || typeof config !== 'object') return undefined;
  const c = config as Record<string, unknown>;
  if (c.name || typeof c.text !== 'string' || (c.rowMode !== undefined && c.rowMode !== 'array')) return undefined;
  if (!INSERT.test(c.text) || RETURNING.test(c.text) || !plainCall(client, c, values, callback)) return undefined;
  const params = Array.isArray(values) ? values : c.values;
  if (!Array.isArray(params) || params.length === 0) return undefined;
  return { text: c.text, params, objectRows: c.rowMode !== 'array', types: c.types as TypeParsers | undefined };
}

/**
 * A node-postgres `Client` class (for `new Pool({ Client })`) whose named statements in array row
 * mode, what drizzle's `.prepare(name)` sends (`{ name, text, rowMode: 'array', types }` with the
 * parameters), run as Bind + Execute + Sync once their row description is known on the backend,
 * their rows parsed with column parsers built once (see {@link PreparedArrayQuery}). An unnamed
 * INSERT with parameters and without RETURNING (drizzle's unprepared inserts and upserts, the
 * audit chain's batches; see {@link INSERT} and {@link RETURNING}) runs the same way from its third execution on a backend, under a name of its own
 * (`platform_auto_<n>`; see {@link StatementCache.autoName}), in the row mode it asked for. Every
 * other query is pg's own. Results are pg's (`{ rows, fields, rowCount, command }`, rows as arrays),
 * errors too (the same `DatabaseError`, connection loss and query_timeout handling).
 *
 * @param shared the statement cache of a backend shared by all connections (the embedded PGlite);
 *   without it (PostgreSQL) each connection has its own, as each has its own backend
 */
export function platformClient(shared?: StatementCache): typeof Client {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- always called with .call(client)
  const superQuery = Client.prototype.query as unknown as QueryMethod;
  class PlatformClient extends Client {
    readonly statements = shared ?? new StatementCache();
  }
  const query: QueryMethod = function (this: Client, config, values, callback) {
    const statements = (this as PlatformClient).statements;
    let submittable: PreparedArrayQuery;
    let done = callback as Callback | undefined;
    if (typeof values === 'function') done = values as Callback;
    const clientTypes = (this as unknown as { _types: TypeParsers })._types;
    if (routable(this, config, values, callback)) {
      const params = Array.isArray(values) ? values : config.values;
      submittable = new PreparedArrayQuery(config.name, config.text, params, config.types ?? clientTypes, statements);
    } else {
      const unnamed = autoPreparable(this, config, values, callback);
      const name = unnamed && statements.autoName(unnamed.text);
      if (!unnamed || name === undefined) return superQuery.call(this, config, values, callback);
      submittable = new PreparedArrayQuery(
        name,
        unnamed.text,
        unnamed.params,
        unnamed.types ?? clientTypes,
        statements,
        unnamed.objectRows,
      );
    }
    if (done) {
      submittable.callback = done;
      superQuery.call(this, submittable);
      return undefined;
    }
    const result = new Promise<ArrayResult>((resolve, reject) => {
      submittable.callback = (err, res) => (err ? reject(err) : resolve(res as ArrayResult));
    }).catch((err: Error) => {
      // As pg: a stack that leads back to the caller, not to the socket's read.
      Error.captureStackTrace(err);
      throw err;
    });
    superQuery.call(this, submittable);
    return result;
  };
  (PlatformClient.prototype as unknown as { query: QueryMethod }).query = query;
  return PlatformClient;
}
