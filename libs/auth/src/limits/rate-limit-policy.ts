import { parse } from 'yaml';

/** Whose budget a request spends: a person, a machine, an agent acting for a person, or an unauthenticated client (by address). */
export const BUDGET_KINDS = ['user', 'service', 'agent', 'anonymous'] as const;
export type BudgetKind = (typeof BUDGET_KINDS)[number];

/** Requests allowed per window, or `unlimited`. */
export type Budget = number | 'unlimited';

/** The rate-limit budgets, validated (config/rate-limits.yaml). */
export interface RateLimitPolicy {
  /** Length of the sliding window, in seconds. */
  windowSeconds: number;
  /** Budget of each kind of principal in every app. */
  defaults: Record<BudgetKind, Budget>;
  /** Per-app overrides, by app name (`platform` for the platform's own routes). */
  apps: Record<string, Partial<Record<BudgetKind, Budget>>>;
}

/** Thrown for an invalid rate-limit file; lists every problem. */
export class RateLimitPolicyError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid rate limits:\n - ${problems.join('\n - ')}`);
    this.name = 'RateLimitPolicyError';
  }
}

/**
 * Parses and validates the rate-limit file:
 *
 * ```yaml
 * windowSeconds: 60
 * defaults: { user: 600, service: 1200, agent: 300, anonymous: 120 }
 * apps:
 *   analytics: { service: 6000 }
 * ```
 *
 * Every kind needs a default; an app may override any of them. A budget is a positive integer
 * (requests per window) or `unlimited`.
 *
 * @param knownApps app names an override may name (every app the platform knows, and `platform`)
 * @throws RateLimitPolicyError naming each invalid entry by its path
 */
export function parseRateLimitPolicy(text: string, knownApps: readonly string[]): RateLimitPolicy {
  const problems: string[] = [];
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new RateLimitPolicyError([`not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isMap(doc)) throw new RateLimitPolicyError(['the file must be a mapping with windowSeconds, defaults and apps']);
  for (const key of Object.keys(doc))
    if (!['windowSeconds', 'defaults', 'apps'].includes(key))
      problems.push(`unknown key "${key}" (expected windowSeconds, defaults, apps)`);

  const windowSeconds = doc.windowSeconds ?? 60;
  if (!Number.isInteger(windowSeconds) || (windowSeconds as number) < 1 || (windowSeconds as number) > 86_400)
    problems.push('windowSeconds must be an integer from 1 to 86400');

  const budget = (value: unknown, where: string): Budget | undefined => {
    if (value === 'unlimited') return value;
    if (Number.isInteger(value) && (value as number) > 0) return value as number;
    problems.push(`${where} must be a positive integer or "unlimited"`);
    return undefined;
  };
  const budgets = (value: unknown, where: string, all: boolean): Partial<Record<BudgetKind, Budget>> => {
    const out: Partial<Record<BudgetKind, Budget>> = {};
    if (!isMap(value)) {
      problems.push(`${where} must be a mapping of ${BUDGET_KINDS.join(', ')}`);
      return out;
    }
    for (const [kind, raw] of Object.entries(value)) {
      if (!(BUDGET_KINDS as readonly string[]).includes(kind)) {
        problems.push(`${where}.${kind}: unknown principal kind (expected ${BUDGET_KINDS.join(', ')})`);
        continue;
      }
      const parsed = budget(raw, `${where}.${kind}`);
      if (parsed !== undefined) out[kind as BudgetKind] = parsed;
    }
    if (all) for (const kind of BUDGET_KINDS) if (!(kind in value)) problems.push(`${where}.${kind} is required`);
    return out;
  };

  const defaults = budgets(doc.defaults, 'defaults', true) as Record<BudgetKind, Budget>;
  const apps: RateLimitPolicy['apps'] = {};
  if (doc.apps !== undefined && doc.apps !== null) {
    if (!isMap(doc.apps)) problems.push('apps must be a mapping of app names');
    else
      for (const [app, value] of Object.entries(doc.apps)) {
        if (!knownApps.includes(app)) problems.push(`apps.${app}: unknown app (known: ${knownApps.join(', ')})`);
        apps[app] = budgets(value, `apps.${app}`, false);
      }
  }
  if (problems.length) throw new RateLimitPolicyError(problems);
  return { windowSeconds: windowSeconds as number, defaults, apps };
}

/** The budget of `kind` in `app`: the app's override, else the default. */
export function budgetFor(policy: RateLimitPolicy, app: string, kind: BudgetKind): Budget {
  return policy.apps[app]?.[kind] ?? policy.defaults[kind];
}
