import { ConfigError } from '@platform/config';

/** Most worker processes `WORKERS` may ask for (a typo such as 400 fails instead of forking 400). */
export const MAX_WORKERS = 64;

type Env = Record<string, string | undefined>;

/**
 * How many worker processes serve HTTP, from `WORKERS` (`auto` = one per core the process may use,
 * or a number 1-64; unset = 1, a single process without a primary).
 *
 * More than one worker needs what the workers then share: PostgreSQL (`DATABASE_URL`; the embedded
 * database belongs to one process), Redis (`REDIS_URL`; rate-limit budgets and DPoP replay checks
 * must be one across workers, or a proof could be replayed on another worker) and a configured
 * issuer (`OIDC_ISSUER` or `OIDC_ISSUERS_FILE`; the development provider is one process too).
 * `auto` on the embedded default is 1, so a laptop's `npm start` stays one process.
 *
 * @param env the process environment
 * @param parallelism cores available (`os.availableParallelism()`)
 * @returns the worker count, >= 1
 * @throws ConfigError naming `WORKERS` and what is missing
 */
export function resolveWorkerCount(env: Env, parallelism: number): number {
  const raw = env.WORKERS?.trim();
  if (raw === undefined || raw === '') return 1;
  const embedded = !env.DATABASE_URL;
  let count: number;
  if (raw === 'auto') {
    if (embedded) return 1;
    count = Math.max(1, Math.min(MAX_WORKERS, parallelism));
  } else if (/^\d+$/.test(raw) && Number(raw) >= 1 && Number(raw) <= MAX_WORKERS) {
    count = Number(raw);
  } else {
    throw new ConfigError([`WORKERS must be "auto" or a whole number from 1 to ${MAX_WORKERS}`]);
  }
  if (count === 1) return 1;
  const problems: string[] = [];
  if (embedded)
    problems.push(`WORKERS=${raw} needs DATABASE_URL (PostgreSQL): the embedded database belongs to one process`);
  if (!env.REDIS_URL)
    problems.push(
      `WORKERS=${raw} needs REDIS_URL: rate limits and DPoP replay checks are shared between workers through Redis`,
    );
  if (!env.OIDC_ISSUER && !env.OIDC_ISSUERS_FILE)
    problems.push(`WORKERS=${raw} needs a configured issuer (OIDC_ISSUER): the development provider is one process`);
  if (problems.length > 0) throw new ConfigError(problems);
  return count;
}
