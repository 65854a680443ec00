import pino, { type Logger } from 'pino';
import { REDACTED_PATHS } from './logger';

const {
  chindingsSym,
  endSym,
  formattersSym,
  hooksSym,
  lsCacheSym,
  messageKeySym,
  mixinSym,
  needsMetadataGsym,
  nestedKeySym,
  serializersSym,
  streamSym,
  timeSym,
} = pino.symbols;

const INFO = 30;

/**
 * pino's string form (`asString`): JSON.stringify on Node 25 and later; before, a copy of its
 * loop, which leaves a lone surrogate as is (JSON.stringify escapes it). The same bytes either way.
 */
const asString =
  Number(process.versions.node.split('.')[0]) >= 25
    ? (str: string): string => JSON.stringify(str)
    : (str: string): string => {
        const l = str.length;
        if (l > 100) return JSON.stringify(str);
        let result = '';
        let last = 0;
        let found = false;
        let point = 255;
        for (let i = 0; i < l && point >= 32; i++) {
          point = str.charCodeAt(i);
          if (point === 34 || point === 92) {
            result += `${str.slice(last, i)}\\`;
            last = i;
            found = true;
          }
        }
        result = found ? result + str.slice(last) : str;
        return point < 32 ? JSON.stringify(str) : `"${result}"`;
      };

/**
 * For each top-level key with redacted paths below it (`details.password`), the names one level
 * down that lead to one (`password`). A value with none of them is left unchanged by redaction.
 */
const REDACTED_BELOW = new Map<string, Set<string>>();
/** Top-level keys redacted whole (`password`). */
const REDACTED_TOP = new Set<string>();
for (const redacted of REDACTED_PATHS) {
  const segments = [...redacted.matchAll(/[^.[\]]+|\[([^[\]]*?)\]/g)].map((m) =>
    (m[1] ?? m[0]).replace(/^["'`](.*)["'`]$/, '$1'),
  );
  if (segments.length === 1) REDACTED_TOP.add(segments[0]);
  else {
    const below = REDACTED_BELOW.get(segments[0]) ?? new Set<string>();
    below.add(segments[1]);
    REDACTED_BELOW.set(segments[0], below);
  }
}

/** `,"key":` of each key seen, built once. */
const keyPrefixes = new Map<string, string>();

interface PinoInternals {
  [key: symbol]: unknown;
}

/**
 * Whether `logger` is one {@link infoLine} can write for: a logger whose line it can build
 * byte for byte as pino would (no mixin, log formatter, nested key, per-key serializer, or a
 * destination asking for metadata). The platform's root logger is one.
 */
function plainLogger(logger: Logger): boolean {
  const internals = logger as unknown as PinoInternals;
  const formatters = internals[formattersSym] as { log?: unknown };
  const serializers = internals[serializersSym] as Record<string, unknown>;
  const stream = internals[streamSym] as PinoInternals;
  return (
    !internals[mixinSym] &&
    !formatters.log &&
    !internals[nestedKeySym] &&
    internals[messageKeySym] === 'msg' &&
    stream[needsMetadataGsym] !== true &&
    // Serializers for `err` only (the root logger's): fields here are never called err.
    Object.keys(serializers).every((key) => key === 'err')
  );
}

const plain = new WeakMap<Logger, boolean>();

/**
 * Logs `fields` and `msg` at info level, with the bytes `logger.info(fields, msg)` would write
 * (level, time, bindings, the fields in order with undefined ones left out, msg; redaction and the
 * `streamWrite` hook applied), built directly: pino's generic path (a redaction pass over every
 * field that could carry a credential, a serializer lookup per key) costs about three times as
 * much for the per-request line. Falls back to `logger.info` whenever it could differ: a field
 * holding a redacted name, a value JSON cannot take (BigInt, a cycle), a logger with a mixin or
 * formatters, an `err` field.
 *
 * @param fields a flat object of strings, numbers, booleans and plain JSON values (arrays, objects)
 */
export function infoLine(logger: Logger, fields: Record<string, unknown>, msg: string): void {
  if (!logger.isLevelEnabled('info')) return;
  let isPlain = plain.get(logger);
  if (isPlain === undefined) plain.set(logger, (isPlain = plainLogger(logger)));
  if (!isPlain) {
    logger.info(fields, msg);
    return;
  }
  const internals = logger as unknown as PinoInternals;
  let line = '';
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined || !Object.prototype.hasOwnProperty.call(fields, key)) continue;
    let json: string | undefined;
    switch (typeof value) {
      case 'string':
        json = asString(value);
        break;
      case 'number':
        json = Number.isFinite(value) ? String(value) : 'null';
        break;
      case 'boolean':
        json = value ? 'true' : 'false';
        break;
      case 'function':
        continue;
      default: {
        if (REDACTED_TOP.has(key) || key === 'err' || redactedBelow(key, value)) {
          logger.info(fields, msg);
          return;
        }
        try {
          json = JSON.stringify(value);
        } catch {
          logger.info(fields, msg);
          return;
        }
      }
    }
    if (json === undefined) continue;
    if (REDACTED_TOP.has(key) || key === 'err') {
      logger.info(fields, msg);
      return;
    }
    let prefix = keyPrefixes.get(key);
    if (prefix === undefined) keyPrefixes.set(key, (prefix = `,${asString(key)}:`));
    line += prefix + json;
  }
  const levelPrefix = (internals[lsCacheSym] as Record<number, string>)[INFO];
  const time = (internals[timeSym] as () => string)();
  const text = `${levelPrefix}${time}${internals[chindingsSym] as string}${line},"msg":${asString(msg)}${internals[endSym] as string}`;
  const hook = (internals[hooksSym] as { streamWrite?: (s: string) => string }).streamWrite;
  (internals[streamSym] as { write(s: string): unknown }).write(hook ? hook(text) : text);
}

/** Whether `value` (under top-level `key`) holds a name that a redacted path goes through. */
function redactedBelow(key: string, value: unknown): boolean {
  const below = REDACTED_BELOW.get(key);
  if (!below || value === null || typeof value !== 'object') return false;
  for (const name of below) if (Object.prototype.hasOwnProperty.call(value, name)) return true;
  return false;
}
