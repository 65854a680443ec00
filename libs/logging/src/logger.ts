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
  'headers["set-cookie"]',
  // Credentials under their usual names, at the top of a log object or one level down in the
  // places a caller might pass a payload (body, query, details, err).
  ...[
    'password',
    'token',
    'accessToken',
    'access_token',
    'refreshToken',
    'refresh_token',
    'idToken',
    'id_token',
    'secret',
    'clientSecret',
    'client_secret',
    'apiKey',
    'authorization',
    'cookie',
    'dpop',
  ].flatMap((key) => [key, `body.${key}`, `query.${key}`, `details.${key}`, `err.${key}`]),
];

/** Anything shaped like a JWS compact serialization (a JWT): header and payload are base64url JSON objects, so start with `eyJ`. */
const JWT_SHAPED = /eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;

/**
 * Last line of defence, on the serialized line itself: a token that reached a message or an
 * unexpected field is cut out whatever its path. One `includes` per line when there is none.
 */
export function scrubLogLine(line: string): string {
  let out = line.includes('eyJ') ? line.replace(JWT_SHAPED, '[Redacted JWT]') : line;
  for (const value of SECRET_VALUES) if (out.includes(value)) out = out.split(value).join('[Redacted secret]');
  return out;
}

/** Values of declared secrets, cut out of every log line wherever they would appear. */
const SECRET_VALUES = new Set<string>();

/**
 * Registers a secret's value for redaction from every log line of the process (the secrets
 * service calls it for each value it loads). Values shorter than 8 characters are not registered:
 * they would cut ordinary words out of log lines.
 */
export function registerSecretValue(value: string): void {
  if (value.length >= 8) SECRET_VALUES.add(value);
  // JSON escapes some characters: also redact the form a log line would carry.
  const json = JSON.stringify(value).slice(1, -1);
  if (json !== value && json.length >= 8) SECRET_VALUES.add(json);
}

/**
 * Errors are logged as type and message only: never a stack trace. A failed query's message
 * (drizzle: "Failed query: <sql> params: <values>") carries row values, so only the database's
 * own cause and SQLSTATE are kept.
 */
export function serializeError(err: Error & { cause?: Error & { code?: string } }): Record<string, unknown> {
  if (!err || typeof err !== 'object') return { message: String(err) };
  if (err.message?.startsWith('Failed query:')) {
    return {
      type: err.cause?.name ?? err.name,
      message: err.cause?.message ?? 'database query failed',
      code: err.cause?.code,
    };
  }
  return { type: err.name, message: err.message };
}

/**
 * Bytes of log lines buffered before they are written (one write system call per this many bytes
 * under load). Half of PIPE_BUF (4096 on Linux): a write of this plus one ordinary line stays atomic
 * on a pipe, so cluster workers sharing the primary's stdout never tear each other's lines.
 */
export const LOG_BUFFER_BYTES = 2048;
/** A graceful stop waits at most this long for buffered lines (a stalled stdout reader must not hold the stop). */
export const LOG_FLUSH_TIMEOUT_MS = 1000;
/** Buffered lines are written at the latest this many milliseconds after they were logged. */
export const LOG_FLUSH_INTERVAL_MS = 250;

/**
 * Buffered stdout (or `fd`): lines are written once {@link LOG_BUFFER_BYTES} have gathered, at the
 * latest every {@link LOG_FLUSH_INTERVAL_MS}, when the process exits (pino flushes its destinations
 * on `exit`, also after `process.exit()`), and by {@link flushLogger} on a graceful stop. Each
 * write of a gathered chunk is synchronous (one system call per ~2 KiB, not per line): no write is
 * ever in flight on libuv's thread pool when the process exits, where an asynchronous one could be
 * lost or land after the exit flush's lines. A crash that skips `exit` handlers (SIGKILL, the
 * OOM killer, a native abort) loses the lines of the last interval: at most about
 * LOG_BUFFER_BYTES plus whatever was logged within LOG_FLUSH_INTERVAL_MS. The audit trail does not
 * depend on them (its records are durable on their own).
 */
export function bufferedDestination(fd: number | string = 1): ReturnType<typeof pino.destination> {
  const destination = pino.destination({
    dest: fd,
    sync: true,
    minLength: LOG_BUFFER_BYTES,
    periodicFlush: LOG_FLUSH_INTERVAL_MS,
  });
  // pino registers its exit flush for asynchronous destinations only; this one buffers all the same.
  if (unflushedAtExit.size === 0) process.on('exit', flushAllSync);
  unflushedAtExit.add(destination);
  destination.once('close', () => unflushedAtExit.delete(destination));
  return destination;
}

/** Buffered destinations still open: written out synchronously when the process exits. */
const unflushedAtExit = new Set<ReturnType<typeof pino.destination>>();

function flushAllSync(): void {
  for (const destination of unflushedAtExit) {
    try {
      destination.flushSync();
    } catch {
      // Not open yet, or closed: nothing of it can be written now.
    }
  }
}

/**
 * Writes out the lines `logger` still buffers and resolves once they are written (at once for a
 * destination without a buffer), or after `timeoutMs` when stdout's reader does not take them (the
 * `exit` flush still tries). Call it last on a graceful stop. Never rejects: a destination that
 * fails to write has nothing more to give.
 *
 * @param timeoutMs longest wait, milliseconds (default {@link LOG_FLUSH_TIMEOUT_MS})
 */
export function flushLogger(logger: Logger, timeoutMs = LOG_FLUSH_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    try {
      logger.flush(() => done());
    } catch {
      done();
    }
  });
}

let cachedSecond = Number.NaN;
let cachedSecondPrefix = '';

/**
 * pino's `isoTime` (`,"time":"2026-12-02T04:27:00.123Z"`, UTC, millisecond precision), formatted
 * with `Date#toISOString` once per second instead of once per line.
 */
export function isoTime(): string {
  const now = Date.now();
  const ms = now % 1000;
  const second = now - ms;
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedSecondPrefix = new Date(second).toISOString().slice(0, 20);
  }
  return `,"time":"${cachedSecondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
}

/**
 * The process's root pino logger: JSON lines, ISO timestamps, redaction (by path, and of anything
 * JWT-shaped anywhere in the line), errors reduced to type and message (never a stack trace).
 *
 * @param destination where lines go; default stdout, buffered ({@link bufferedDestination})
 * @param pretty human-readable lines through pino-pretty (development only: the configuration
 *   refuses it elsewhere); ignored when a destination is given
 */
export function createRootLogger(level: string, destination?: DestinationStream, pretty = false): Logger {
  const target =
    destination ??
    (pretty
      ? pino.transport({
          target: 'pino-pretty',
          options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' },
        })
      : bufferedDestination());
  return pino(
    {
      level,
      // The pid tells workers apart in cluster mode (WORKERS), and one process's lines from a restarted one.
      base: { service: 'platform', pid: process.pid },
      timestamp: isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
      serializers: { err: serializeError },
      hooks: { streamWrite: scrubLogLine },
    },
    target,
  );
}

/** Forgets a value no longer accepted anywhere (a rotated secret after its grace window): the set stays as small as the secrets in use. */
export function unregisterSecretValue(value: string): void {
  SECRET_VALUES.delete(value);
  SECRET_VALUES.delete(JSON.stringify(value).slice(1, -1));
}
