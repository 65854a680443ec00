import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { audienceProblems } from './issuers-file';
import { PlatformEnv } from './platform-env.schema';

/** Thrown by {@link validatePlatformEnv} (and so parsePlatformConfig) with every problem found, one per line. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n - ${problems.join('\n - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates a raw environment (`process.env` or a test's own record) against {@link PlatformEnv}
 * and the rules across variables. Shaped as the `validate` option of `ConfigModule.forRoot`.
 * Values are trimmed; blank ones count as unset. Variables the schema does not name pass through.
 *
 * @returns the typed environment (integers, booleans and lists converted; no defaults applied)
 * @throws ConfigError naming every invalid variable (never echoing a value that may be a secret)
 */
export function validatePlatformEnv(raw: Record<string, unknown>): PlatformEnv {
  const present: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    const trimmed = typeof value === 'string' ? value.trim() : undefined;
    if (trimmed) present[name] = trimmed;
  }
  const env = plainToInstance(PlatformEnv, present);
  // One line per message; a property's constraints share one message, so it is said once.
  const problems = validateSync(env, { forbidUnknownValues: false }).flatMap((error) => [
    ...new Set(Object.values(error.constraints ?? {}).flatMap((message) => message.split('\n'))),
  ]);
  problems.push(...crossFieldProblems(env));
  if (problems.length > 0) throw new ConfigError(problems);
  return env;
}

/** The rules that involve more than one variable (each variable's own shape is the schema's). */
export function crossFieldProblems(env: PlatformEnv): string[] {
  const problems: string[] = [];
  const issuer = env.OIDC_ISSUER;
  if (env.OIDC_ISSUERS_FILE !== undefined && issuer !== undefined)
    problems.push(
      'OIDC_ISSUERS_FILE and OIDC_ISSUER are exclusive: declare every issuer in the file, or the one issuer in OIDC_ISSUER',
    );
  if (envName(env) === 'production') {
    if (issuer === undefined && env.OIDC_ISSUERS_FILE === undefined)
      problems.push(
        'OIDC_ISSUER is required when NODE_ENV=production (the development provider never runs in production)',
      );
    // In production the keys that decide every request must come over TLS.
    else if (issuer?.startsWith('http://')) problems.push('OIDC_ISSUER must be https:// when NODE_ENV=production');
    if (env.OIDC_JWKS_URI?.startsWith('http://'))
      problems.push('OIDC_JWKS_URI must be https:// when NODE_ENV=production');
    // DPoP proofs name the URL they are for (htu): checked against the Host header instead, a
    // client could make a proof meant for another server that accepts the same token pass here.
    if (env.PUBLIC_ORIGIN === undefined)
      problems.push(
        'PUBLIC_ORIGIN is required when NODE_ENV=production (the https:// origin clients address, e.g. https://api.example.com)',
      );
  }
  if (audiencesOf(env).length === 0 && env.OIDC_PRESET !== 'cognito')
    problems.push('OIDC_AUDIENCE is required with an external OIDC_ISSUER');
  if (issuer !== undefined) problems.push(...audienceProblems(audiencesOf(env), [issuer], 'OIDC_AUDIENCE'));
  if (env.OIDC_PRESET === 'cognito' && (env.OIDC_CLIENT_ID ?? []).length === 0)
    problems.push('OIDC_CLIENT_ID is required with OIDC_PRESET=cognito (its access tokens carry no aud)');
  // Log pipelines parse JSON; pretty lines in production would be lost to them.
  if (env.LOG_FORMAT === 'pretty' && envName(env) !== 'development')
    problems.push('LOG_FORMAT=pretty is for development only (NODE_ENV=development)');
  return problems;
}

/** NODE_ENV as the platform reads it: an invalid value (already a problem) counts as development. */
export function envName(env: PlatformEnv): 'development' | 'test' | 'production' {
  return env.NODE_ENV === 'production' || env.NODE_ENV === 'test' ? env.NODE_ENV : 'development';
}

/** Accepted audiences: OIDC_AUDIENCE, else the development provider's `urn:platform:api` when no issuer is set. */
export function audiencesOf(env: PlatformEnv): string[] {
  return env.OIDC_AUDIENCE ?? (env.OIDC_ISSUER === undefined ? ['urn:platform:api'] : []);
}
