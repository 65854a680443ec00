import type { Spread } from './stats';

/** The figures of one scenario in latest.json: medians with their spread over the rounds. */
export interface ScenarioFigures {
  rps: Spread;
  /** Over the rounds that got answers; null when none did. */
  p50_ms: Spread | null;
  p99_ms: Spread | null;
  cpu_us_per_request: Spread | null;
  /** Event-loop delay p99 beyond the 10 ms sampling interval, ms; null when the server could not say. */
  eventloop_p99_ms: Spread | null;
  /** Highest RSS seen in any round, MiB. */
  rss_mb: number;
  non2xx: number;
  errors: number;
  /** Rounds in which the server answered nothing (starved): left out of latency and CPU. */
  rounds_without_answers: number;
}

/** One of issue #15's targets, judged on this run's medians. */
export interface TargetCheck {
  target: string;
  /** The measured figure (median), or null when this run did not measure it. */
  measured: number | null;
  limit: string;
  /** null: not measured in this run. */
  met: boolean | null;
  /**
   * The same figure for `bare+db` in this run (the same invoice read on bare Fastify and pg, no
   * identity layer, no audit), where it has one: what the database read alone gives on this
   * machine, so a limit below it is out of reach here whatever the platform does. null otherwise.
   */
  bareDb: number | null;
}

/**
 * Judges issue #15's targets on the medians of this run. Scenarios that did not run (no
 * PostgreSQL) give `met: null`.
 *
 * @param s scenarios by name
 * @param identityLayerUs platform-read@postgres minus bare+db, CPU µs per request (median of the rounds' differences)
 * @param auditExact 0 lost and 0 duplicated on every platform
 * @param firstSeenUs platform-read-new minus platform-read on PostgreSQL (PGlite without it), CPU µs
 *   per request (median of the rounds' differences); null when not measured
 */
export function checkTargets(
  s: Record<string, ScenarioFigures>,
  identityLayerUs: number | null,
  auditExact: boolean,
  firstSeenUs: number | null = null,
): TargetCheck[] {
  const m = (name: string, key: 'rps' | 'p99_ms' | 'cpu_us_per_request'): number | null =>
    s[name]?.[key]?.median ?? null;
  const el = (name: string): number | null => s[name]?.eventloop_p99_ms?.median ?? null;
  const at = (
    value: number | null,
    ok: (v: number) => boolean,
    target: string,
    limit: string,
    bareDb: number | null = null,
  ): TargetCheck => ({
    target,
    measured: value,
    limit,
    met: value === null ? null : ok(value),
    bareDb,
  });
  const readRps = m('platform-read@postgres', 'rps');
  const recipeRps = m('recipe', 'rps');
  // Throughput as a multiple of the recipe's, two decimals.
  const perRecipe = (rps: number | null) =>
    rps !== null && recipeRps ? Math.round((rps / recipeRps) * 100) / 100 : null;
  const read1 = m('platform-read@postgres', 'cpu_us_per_request');
  const read10k = m('platform-read-10k@postgres', 'cpu_us_per_request');
  return [
    at(
      read1,
      (v) => v <= 90,
      'read@postgres: server CPU per request (µs)',
      '<= 90',
      m('bare+db', 'cpu_us_per_request'),
    ),
    at(identityLayerUs, (v) => v <= 30, 'identity layer: read@postgres minus bare+db (CPU µs/request)', '<= 30'),
    at(
      perRecipe(readRps),
      (v) => v >= 8,
      'read@postgres throughput / recipe throughput',
      '>= 8',
      perRecipe(m('bare+db', 'rps')),
    ),
    at(
      m('platform-read@postgres', 'p99_ms'),
      (v) => v <= 15,
      'read@postgres: latency p99 at 64 connections (ms)',
      '<= 15',
      m('bare+db', 'p99_ms'),
    ),
    at(
      read1 !== null && read10k !== null ? Math.round((read10k / read1 - 1) * 1000) / 10 : null,
      (v) => v <= 15,
      'read with 10,000 distinct tokens vs one token: extra CPU (%)',
      '<= 15',
    ),
    at(firstSeenUs, (v) => v <= 100, 'a first-seen token: extra server CPU vs a warm one (µs)', '<= 100'),
    at(
      m('platform-write@postgres', 'cpu_us_per_request'),
      (v) => v <= 150,
      'write@postgres: server CPU per request (µs)',
      '<= 150',
    ),
    at(
      m('platform-read@pglite', 'cpu_us_per_request'),
      (v) => v <= 300,
      'read@pglite: server CPU per request (µs)',
      '<= 300',
    ),
    at(el('platform-read@pglite'), (v) => v <= 10, 'read@pglite: event-loop delay p99 (ms)', '<= 10'),
    at(m('platform-read@pglite', 'p99_ms'), (v) => v <= 50, 'read@pglite: latency p99 at 64 connections (ms)', '<= 50'),
    at(s['platform-read@pglite']?.rss_mb ?? null, (v) => v <= 400, 'pglite: RSS (MB)', '<= 400'),
    {
      target: 'audit: 0 lost, 0 duplicated in every scenario',
      measured: auditExact ? 0 : 1,
      limit: 'exact',
      met: auditExact,
      bareDb: null,
    },
  ];
}
