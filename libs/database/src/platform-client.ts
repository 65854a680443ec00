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
  for (const key in c) if (!ROUTED_KEYS.has(key)) return false;
  if (c.values !== undefined && !Array.isArray(c.values)) return false;
  if (values !== undefined && typeof values !== 'function' && !Array.isArray(values)) return false;
  if (callback !== undefined && typeof callback !== 'function') return false;
  // Pipelined and binary clients: pg's own path (its Query is what they are written against).
  const flags = client as unknown as { pipeline?: unknown; binary?: unknown };
  return !flags.pipeline && !flags.binary;
}

/**
 * A node-postgres `Client` class (for `new Pool({ Client })`) whose named statements in array row
 * mode, what drizzle's `.prepare(name)` sends (`{ name, text, rowMode: 'array', types }` with the
 * parameters), run as Bind + Execute + Sync once their row description is known on the backend,
 * their rows parsed with column parsers built once (see {@link PreparedArrayQuery}). Every other
 * query is pg's own. Results are pg's (`{ rows, fields, rowCount, command }`, rows as arrays),
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
    if (!routable(this, config, values, callback)) return superQuery.call(this, config, values, callback);
    let done = callback as Callback | undefined;
    let params = config.values;
    if (typeof values === 'function') done = values as Callback;
    else if (values) params = values as unknown[];
    const types = config.types ?? (this as unknown as { _types: TypeParsers })._types;
    const submittable = new PreparedArrayQuery(
      config.name,
      config.text,
      params,
      types,
      (this as PlatformClient).statements,
    );
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
