/**
 * Seconds a client is asked to wait (`Retry-After`) after a 503 `database_unavailable`: about the
 * time readiness needs to see a database that came back (one probe period).
 */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * SQLSTATEs meaning "the database cannot serve now", not "this statement is wrong": class 08
 * (connection exception), 57P01-57P03 (admin/crash shutdown, cannot connect now), 53300 (too many
 * connections), 57014 (statement cancelled: a statement timeout).
 */
const UNAVAILABLE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[1-3]|53300|57014)$/;

/** Socket errors of a connection to the database (Node's `code`). */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

/**
 * Messages of node-postgres, pg-pool and PGlite errors that carry no code: the pool found no
 * connection in time, the connection ended or timed out, or the embedded database is closed
 * (a request still running during shutdown).
 */
const UNAVAILABLE_MESSAGE =
  /^(timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|Query read timeout|Cannot use a pool after calling end on the pool|PGlite is clos(ed|ing)|ROLLBACK took longer than|database ping took longer than)/;

/**
 * Whether `err` (or an error it wraps as `cause`, e.g. drizzle's `DrizzleQueryError`) says the
 * database is unreachable, hung or shutting down, rather than that the request or the code is
 * wrong. Such an error is answered 503 `database_unavailable` with `Retry-After`, never 500.
 *
 * @param err anything thrown
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  // An outbound HTTP call (fetch) failing on a socket is not the database.
  if (err instanceof TypeError && err.message === 'fetch failed') return false;
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || SOCKET_CODES.has(code))) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message)) return true;
  }
  return false;
}
