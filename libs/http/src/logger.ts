import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Paths removed from every log line, whatever logs it (pitfall C23). The platform's own lines are
 * built from an allow-list of fields and never carry headers, bodies or query strings; these
 * catch a library's request dump. Explicit paths only: wildcard paths make every log call scan
 * its whole object (measured at about 5% of a request's CPU).
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["set-cookie"]',
  'req.headers.dpop',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers.dpop',
];

/**
 * Errors are logged as type and message only: never a stack trace. A failed query's message
 * (drizzle: "Failed query: <sql> params: <values>") carries row values, so only the database's
 * own cause and SQLSTATE are kept.
 */
export function serializeError(err: Error & { cause?: Error & { code?: string } }): Record<string, unknown> {
  if (!err || typeof err !== 'object') return { message: String(err) };
  if (err.message?.startsWith('Failed query:')) {
    return { type: err.cause?.name ?? err.name, message: err.cause?.message ?? 'database query failed', code: err.cause?.code };
  }
  return { type: err.name, message: err.message };
}

/**
 * The process's root pino logger: JSON lines, ISO timestamps, redaction, errors reduced to type and
 * message (never a stack trace). `destination` defaults to asynchronous stdout.
 */
export function createRootLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'platform' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
      serializers: { err: serializeError },
    },
    destination ?? pino.destination({ sync: false }),
  );
}
