import type { LoggerService } from '@nestjs/common';
import type { Logger as PinoLoggerInstance } from 'pino';
import type { PlatformConfigValues } from '@platform/config';

/** Nest's contexts whose start-up lines (one per module and per route) go to debug, not info. */
const ROUTINE_CONTEXTS = new Set(['RoutesResolver', 'RouterExplorer', 'InstanceLoader']);

/**
 * Wraps Nest's logger so that the start log is short at info: module initialisation and route
 * mapping lines (~75 of them) are written at debug; everything else is unchanged.
 */
export function quietStartupLogger(inner: LoggerService): LoggerService {
  const isRoutine = (params: unknown[]) =>
    typeof params.at(-1) === 'string' && ROUTINE_CONTEXTS.has(params.at(-1) as string);
  return {
    log: (message: unknown, ...params: unknown[]) => {
      if (isRoutine(params)) inner.debug?.(message, ...params);
      else inner.log(message, ...params);
    },
    error: (message: unknown, ...params: unknown[]) => {
      inner.error(message, ...params);
    },
    warn: (message: unknown, ...params: unknown[]) => {
      inner.warn(message, ...params);
    },
    debug: (message: unknown, ...params: unknown[]) => {
      inner.debug?.(message, ...params);
    },
    verbose: (message: unknown, ...params: unknown[]) => {
      inner.verbose?.(message, ...params);
    },
    fatal: (message: unknown, ...params: unknown[]) => {
      (inner.fatal ?? inner.error).call(inner, message, ...params);
    },
  };
}

/** What a started platform tells its operator, in one log line. */
export interface StartSummary {
  api: string;
  openapi: string;
  /** The issuer, and whether it is the built-in development provider. */
  provider: string;
  /** How to get an access token. */
  token: string;
  /** Database in use, without credentials. */
  database: string;
  /** Where rate-limit counters and DPoP replay checks live. */
  cache: string;
}

/** A URL without user, password or query: what may be logged. */
function withoutCredentials(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * The start summary: API and OpenAPI URLs, the identity provider, how to get a token, the
 * database and the cache. Never contains a secret (URLs lose their credentials).
 *
 * @param url the API's base URL as listened on
 */
export function startSummary(url: string, config: PlatformConfigValues, devProvider: boolean): StartSummary {
  const issuer = config.oidc.issuer ?? '(none)';
  const devPort = new URL(issuer, 'http://x').port;
  const portPrefix = devProvider && devPort !== '3001' ? `DEV_OIDC_PORT=${devPort} ` : '';
  return {
    api: url,
    openapi: `${url}/docs`,
    provider: devProvider
      ? `development provider at ${issuer} (seeded users and clients; never in production)`
      : `${issuer} (external)`,
    token: devProvider
      ? `${portPrefix}npm run --silent token -- --user bob   (or --client ingest-bot)`
      : `from ${issuer}, for audience ${config.oidc.audiences.join(', ')}`,
    database: config.databaseUrl
      ? `PostgreSQL ${withoutCredentials(config.databaseUrl)}`
      : `embedded PGlite in ${config.dataDir}`,
    cache: config.redis
      ? `Redis ${withoutCredentials(config.redis.url)}`
      : 'in-process (REDIS_URL not set: rate limits and DPoP replay checks are per instance)',
  };
}

/** Logs the start summary at info: the last line of a start, readable in pretty and JSON logs. */
export function logStartSummary(logger: PinoLoggerInstance, summary: StartSummary): void {
  const text = [
    'Platform ready',
    `  API:       ${summary.api}`,
    `  OpenAPI:   ${summary.openapi}`,
    `  Provider:  ${summary.provider}`,
    `  Token:     ${summary.token}`,
    `  Database:  ${summary.database}`,
    `  Cache:     ${summary.cache}`,
  ].join('\n');
  logger.info({ summary }, text);
}
