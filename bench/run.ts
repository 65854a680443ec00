/**
 * `npm run bench [-- --quick] [-- --profile]`: what the identity layer costs, side by side in one run.
 *
 * Starts, each in its own process on 127.0.0.1: a bare Fastify server, bare Fastify reading the
 * invoice with `pg` (`bare+db`, with DATABASE_URL), the NestJS-docs recipe app (bench/apps/recipe)
 * and the platform (embedded PGlite; and PostgreSQL too when DATABASE_URL is set), all trusting one
 * local test issuer. Then measures interleaved rounds of every scenario with autocannon (64
 * connections, warm-up before each), each server alone: the others are paused (SIGSTOP) while one
 * is measured. Per scenario and round: requests/s, latency percentiles, server CPU per request
 * (/proc), event-loop delay p99 (the platform's /metrics; IPC for the bench apps), peak RSS.
 * Reports the median and the spread (min-max) over the rounds, ratios, the identity layer's cost
 * (platform read minus bare+db, CPU µs per request), issue #15's targets, and audit completeness
 * (audit rows written vs requests answered, after a drain). Writes bench/results/latest.json.
 *
 * `platform-read-new@<db>` measures a first-seen token: a fixed number of reads (autocannon's
 * `amount`), each with a token the platform has never seen (pre-signed, distinct people, so the
 * verification, claim mapping and just-in-time provisioning all happen), fresh tokens every round.
 * Its window lasts until the platform has provisioned every one of those users (polled through
 * `GET /users/tenant`), so the deferred writes are counted. The first-seen cost is its CPU per
 * request minus the warm `platform-read` one of the same round (median of the rounds' differences).
 *
 * `--only <name>[,<name>...]` measures only the scenarios named (exactly as in the table, e.g.
 * `--only platform-read@postgres,platform-read-new@postgres`) and starts only the servers they need.
 *
 * `--profile` instead runs the platform read (`--profile-route write`: the event write) on PostgreSQL with `--cpu-prof`, writes the profile to
 * bench/results/ and prints main-thread self time per layer in µs per request (profile.json).
 * Never imported by the product.
 */
import autocannon from 'autocannon';
import { execSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { auditedIds, createDatabase, journalledIds } from './lib/databases';
import { AUDIENCE, makeFirstSeenTokens, makeTokens, signToken, startIssuer, type Issuer } from './lib/issuer';
import { cpuSeconds, isolate, resumeAll, rssMb } from './lib/proc';
import { layerCosts, type CpuProfile } from './lib/profile';
import { formatSpread, spread } from './lib/stats';
import { checkTargets, type ScenarioFigures } from './lib/targets';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(__dirname, 'results');
const CONNECTIONS = 64;
const TOKEN_COUNT = 10_000;
/** Sampling interval of the event-loop delay histograms (prom-client's default): a sample is never below it. */
const EVENTLOOP_RESOLUTION_MS = 10;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'skip-build': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    /** With --profile: `read` (GET /billing/invoices/:id, the default) or `write` (POST /analytics/events). */
    'profile-route': { type: 'string', default: 'read' },
    only: { type: 'string' },
    /** Keeps every platform's log (stdout) in its data folder, and the folder itself when an answer has no audit row. */
    'keep-logs': { type: 'boolean', default: false },
  },
});
/** Scenario names to measure (`--only a,b`); every scenario when absent. */
const ONLY = args.only ? new Set(args.only.split(',').map((n) => n.trim())) : undefined;
const wanted = (name: string) => !ONLY || ONLY.has(name);
const QUICK = args.quick;
const DURATION_S = QUICK ? 3 : 10;
const WARMUP_S = QUICK ? 1 : 3;
const ROUNDS = QUICK ? 3 : 5;
/** First-seen scenarios: tokens never seen before, per round, for the warm-up and for the measured window. */
const FIRST_SEEN_WARMUP = QUICK ? 200 : 300;
const FIRST_SEEN_MEASURED = QUICK ? 1500 : 3000;

/** The write scenarios' body: one product event. */
const EVENT_BODY = JSON.stringify({
  events: [{ name: 'bench', timestamp: '2026-11-30T12:00:00Z', properties: { n: 1 } }],
});

const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

// ---------- servers under test ----------

interface Target {
  name: string;
  process: ChildProcess;
  url: string;
  /** Request ids of every answer this process gave (platform only: `X-Request-Id`). */
  answeredIds: string[];
  /** Event-loop delay p99 (ms, beyond the sampling interval) since the last call; the first call starts the window. */
  eventloopP99Ms: () => Promise<number | undefined>;
}

/** Every process the runner started: paused and resumed around each measurement, resumed on exit. */
const started: number[] = [];
process.on('exit', () => {
  resumeAll(started);
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Gone already.
    }
  }
});

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const beyondResolution = (p99Ms: number) => Math.max(0, Math.round((p99Ms - EVENTLOOP_RESOLUTION_MS) * 100) / 100);

/** A bench app (bare, bare+db, recipe): ready and event-loop delay over IPC. */
async function startForked(name: string, file: string, env: Record<string, string>): Promise<Target> {
  const child = fork(file, [], {
    env: { ...process.env, ...env, PORT: '0' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  started.push(child.pid as number);
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { ready: number }) => resolve(m.ready));
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  const eventloopP99Ms = () =>
    new Promise<number | undefined>((resolve) => {
      child.once('message', (m: { eventloopP99Ms?: number }) =>
        resolve(m.eventloopP99Ms === undefined ? undefined : beyondResolution(m.eventloopP99Ms)),
      );
      child.send('eventloop');
    });
  return { name, process: child, url: `http://127.0.0.1:${port}`, answeredIds: [], eventloopP99Ms };
}

async function startPlatform(
  name: string,
  issuer: Issuer,
  scraperToken: string,
  options: { databaseUrl?: string; redisUrl?: string; env?: Record<string, string>; nodeArgs?: string[] } = {},
): Promise<Target & { dataDir: string }> {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'platform-bench-'));
  // Logs cost the server a file write per line: only kept when asked (diagnosis, not measurement).
  const stdout = args['keep-logs'] ? openSync(path.join(dataDir, 'server.log'), 'a') : 'ignore';
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), path.join(ROOT, 'dist/src/main.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      OIDC_ISSUER: issuer.url,
      OIDC_AUDIENCE: AUDIENCE,
      LOG_LEVEL: 'info',
      // The bench's machine clients are not registered service accounts: they keep their token's
      // scopes (the binding lookup they skip is one Map lookup).
      SERVICE_ACCOUNTS_REQUIRED: 'false',
      // Budgets no scenario reaches: the limiter runs (and is measured) on every request, never refuses.
      RATE_LIMITS_FILE: path.join(__dirname, 'rate-limits.bench.yaml'),
      DATABASE_URL: options.databaseUrl ?? '',
      // Counters in Redis only for the platform@...+redis target.
      REDIS_URL: options.redisUrl ?? '',
      REDIS_KEY_PREFIX: `bench-${Math.random().toString(16).slice(2, 10)}:`,
      ...options.env,
    },
    stdio: ['ignore', stdout, 'inherit'],
  });
  if (typeof stdout === 'number') closeSync(stdout);
  started.push(child.pid as number);
  const url = `http://127.0.0.1:${port}`;
  const answeredIds: string[] = [];
  // prom-client's default metrics: monitorEventLoopDelay (10 ms resolution), reset at every scrape.
  const eventloopP99Ms = async () => {
    const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${scraperToken}` } });
    const id = response.headers.get('x-request-id');
    if (id) answeredIds.push(id);
    const match = /^nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(await response.text());
    return response.status === 200 && match ? beyondResolution(Number(match[1]) * 1000) : undefined;
  };
  const target = { name, process: child, url, answeredIds, dataDir, eventloopP99Ms };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    const response = await fetch(`${target.url}/health/ready`).catch(() => undefined);
    const id = response?.headers.get('x-request-id');
    if (id) target.answeredIds.push(id);
    if (response?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`${name} did not become ready`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return target;
}

/** Creates one invoice (tenant acme) for the read scenarios; returns its id. */
async function seedInvoice(target: Target, token: string): Promise<string> {
  const seed = await fetch(`${target.url}/billing/invoices`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      customer: 'Bench',
      currency: 'EUR',
      lines: [{ description: 'x', quantity: 1, unitAmount: 100 }],
    }),
  });
  if (seed.status !== 201) throw new Error(`seeding an invoice on ${target.name} answered ${seed.status}`);
  target.answeredIds.push(seed.headers.get('x-request-id') as string);
  return ((await seed.json()) as { id: string }).id;
}

async function stop(target: Target): Promise<void> {
  if (target.process.exitCode !== null) return;
  const exited = new Promise((resolve) => target.process.once('exit', resolve));
  target.process.kill('SIGCONT');
  target.process.kill('SIGTERM');
  await exited;
}

// ---------- scenarios ----------

interface Scenario {
  name: string;
  target: Target;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  /** Tokens to rotate through (none: no Authorization header). */
  tokens?: string[];
  /**
   * First-seen scenario: a fixed number of requests per window instead of a duration, each with a
   * token of `firstSeen.tokens(round, phase)` (used once each), and the window closes only once
   * every one of those people is provisioned.
   */
  firstSeen?: {
    tokens: (round: number, phase: 'warmup' | 'measured') => string[];
    /** A warm token allowed to read `GET /users/tenant` (the provisioned users count). */
    reader: string;
  };
}

interface RoundResult {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  answered: number;
  rssPeakMb: number;
  cpuUsPerRequest: number;
  eventloopP99Ms?: number;
}

/**
 * Loads one server: for `load.seconds`, or `load.amount` requests. `settle` is awaited before the
 * window closes (work the server still owes for these requests, e.g. deferred writes).
 */
async function fire(
  scenario: Scenario,
  load: { seconds: number } | { amount: number; tokens: string[]; settle: () => Promise<void> },
): Promise<{ result: autocannon.Result; rssPeakMb: number; cpuSeconds: number }> {
  const pid = scenario.target.process.pid as number;
  const tokens = 'amount' in load ? load.tokens : scenario.tokens;
  let next = 0;
  const headers: Record<string, string> = scenario.body ? { 'content-type': 'application/json' } : {};
  if (tokens?.length === 1) headers.authorization = `Bearer ${tokens[0]}`;
  let rssPeakMb = rssMb(pid);
  const sampler = setInterval(() => (rssPeakMb = Math.max(rssPeakMb, rssMb(pid))), 200);
  const cpuBefore = cpuSeconds(pid);
  const result = await autocannon({
    url: scenario.target.url,
    connections: CONNECTIONS,
    ...('amount' in load ? { amount: load.amount } : { duration: load.seconds }),
    requests: [
      {
        method: scenario.method,
        path: scenario.path,
        headers,
        body: scenario.body,
        onResponse: (
          _status: number,
          _body: string,
          _context: object,
          responseHeaders?: Record<string, string | string[] | undefined>,
        ) => {
          const id = responseHeaders?.['x-request-id'];
          if (typeof id === 'string') scenario.target.answeredIds.push(id);
        },
        ...(tokens &&
          tokens.length > 1 && {
            setupRequest: (request: autocannon.Request) => {
              request.headers = { ...request.headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` };
              return request;
            },
          }),
      },
    ],
  });
  if ('settle' in load) await load.settle();
  clearInterval(sampler);
  return { result, rssPeakMb: Math.max(rssPeakMb, rssMb(pid)), cpuSeconds: cpuSeconds(pid) - cpuBefore };
}

/** One round of one scenario, its server alone on the machine (the other servers paused). */
async function measure(scenario: Scenario, all: readonly number[], round: number): Promise<RoundResult> {
  isolate(all, scenario.target.process.pid);
  try {
    const load = (phase: 'warmup' | 'measured', seconds: number) =>
      scenario.firstSeen ? firstSeenLoad(scenario.target, scenario.firstSeen, round, phase) : { seconds };
    await fire(scenario, await load('warmup', WARMUP_S));
    await scenario.target.eventloopP99Ms(); // starts the window
    const run = await fire(scenario, await load('measured', DURATION_S));
    const eventloopP99Ms = await scenario.target.eventloopP99Ms();
    const r = run.result;
    return {
      rps: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      non2xx: r.non2xx,
      errors: r.errors + r.timeouts,
      answered: r.requests.total,
      rssPeakMb: run.rssPeakMb,
      cpuUsPerRequest: r.requests.total > 0 ? (run.cpuSeconds * 1e6) / r.requests.total : 0,
      eventloopP99Ms,
    };
  } finally {
    resumeAll(all);
  }
}

/** Users of tenant acme the platform has provisioned so far. */
async function acmeUsers(target: Target, reader: string): Promise<number> {
  const response = await fetch(`${target.url}/users/tenant`, { headers: { authorization: `Bearer ${reader}` } });
  const id = response.headers.get('x-request-id');
  if (id) target.answeredIds.push(id);
  if (response.status !== 200) throw new Error(`GET /users/tenant on ${target.name} answered ${response.status}`);
  return ((await response.json()) as { users: number }).users;
}

/** One first-seen window: every token once, closed when all their people are provisioned. */
async function firstSeenLoad(
  target: Target,
  firstSeen: NonNullable<Scenario['firstSeen']>,
  round: number,
  phase: 'warmup' | 'measured',
): Promise<{ amount: number; tokens: string[]; settle: () => Promise<void> }> {
  const tokens = firstSeen.tokens(round, phase);
  const expected = (await acmeUsers(target, firstSeen.reader)) + tokens.length;
  const deadline = Date.now() + 60_000;
  const settle = async () => {
    // A handful of warm reads over the drain, next to thousands of measured requests.
    while ((await acmeUsers(target, firstSeen.reader)) < expected) {
      if (Date.now() > deadline) throw new Error(`${target.name} did not provision ${tokens.length} first-seen users`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { amount: tokens.length, tokens, settle };
}

function figures(results: RoundResult[]): ScenarioFigures {
  // Latency and CPU per request mean nothing for a round that got no answer (a starved server).
  const answered = results.filter((r) => r.answered > 0);
  const over = (pick: (r: RoundResult) => number, digits = 0) =>
    answered.length > 0 ? spread(answered.map(pick), digits) : null;
  const loop = results.map((r) => r.eventloopP99Ms).filter((v): v is number => v !== undefined);
  return {
    rps: spread(results.map((r) => r.rps)),
    p50_ms: over((r) => r.p50, 1),
    p99_ms: over((r) => r.p99, 1),
    cpu_us_per_request: over((r) => r.cpuUsPerRequest),
    eventloop_p99_ms: loop.length === results.length ? spread(loop, 1) : null,
    rss_mb: Math.round(Math.max(...results.map((r) => r.rssPeakMb))),
    non2xx: results.reduce((s, r) => s + r.non2xx, 0),
    errors: results.reduce((s, r) => s + r.errors, 0),
    rounds_without_answers: results.length - answered.length,
  };
}

const machine = () => ({
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  memoryGb: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  loadAverage1m: Math.round(loadavg()[0] * 10) / 10,
});

// ---------- main ----------

async function main(): Promise<void> {
  const startedAt = Date.now();
  if (!args['skip-build']) {
    progress('building the platform and the recipe app');
    execSync('npx nest build && npx tsc -p bench/tsconfig.json', { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const issuer = await startIssuer();
  const manyWanted = !ONLY || [...ONLY].some((n) => n.includes('-10k'));
  progress(`signing ${manyWanted ? TOKEN_COUNT : 1} distinct tokens (users and machine clients)`);
  const manyTokens = makeTokens(issuer, manyWanted ? TOKEN_COUNT : 1);
  const oneToken = [manyTokens[0]];
  const scraperToken = signToken(issuer, {
    sub: 'bench-scraper',
    client_id: 'bench-scraper',
    scope: 'platform:metrics:read',
  });
  mkdirSync(RESULTS, { recursive: true });
  if (args.profile) return profile(issuer, oneToken[0], scraperToken);

  // Tokens never seen: signed up front (not while a server is measured), fresh for every round and
  // shared by the platforms (each process has its own caches and its own database).
  const firstSeenWanted = !ONLY || [...ONLY].some((n) => n.startsWith('platform-read-new@'));
  const firstSeenTokens = new Map<string, string[]>();
  if (firstSeenWanted) {
    progress(
      `signing ${ROUNDS * (FIRST_SEEN_WARMUP + FIRST_SEEN_MEASURED)} first-seen tokens (${ROUNDS} rounds of ${FIRST_SEEN_WARMUP} + ${FIRST_SEEN_MEASURED})`,
    );
    for (let round = 1; round <= ROUNDS; round++)
      for (const [phase, count] of [
        ['warmup', FIRST_SEEN_WARMUP],
        ['measured', FIRST_SEEN_MEASURED],
      ] as const)
        firstSeenTokens.set(
          `${round}/${phase}`,
          await makeFirstSeenTokens(issuer, `bench-new-r${round}-${phase}`, count),
        );
  }
  const firstSeen = {
    tokens: (round: number, phase: 'warmup' | 'measured') => firstSeenTokens.get(`${round}/${phase}`) as string[],
    reader: oneToken[0],
  };

  progress('starting bare, recipe and platform servers');
  const bare = wanted('bare') ? await startForked('bare', path.join(__dirname, 'apps/bare.mjs'), {}) : undefined;
  const recipe =
    wanted('recipe') || wanted('recipe-10k')
      ? await startForked('recipe', path.join(__dirname, 'dist/apps/recipe/main.js'), {
          JWKS_URI: `${issuer.url}/jwks`,
          ISSUER: issuer.url,
          AUDIENCE,
        })
      : undefined;
  const databases: {
    label: string;
    url?: string;
    redisUrl?: string;
    drop?: () => Promise<void>;
    env?: Record<string, string>;
  }[] = [];
  // With --only, a platform starts only when a scenario measured on it was named.
  const onPlatform = (label: string) => !ONLY || [...ONLY].some((n) => n.endsWith(`@${label}`));
  if (onPlatform('pglite')) databases.push({ label: 'pglite' });
  if (process.env.DATABASE_URL && onPlatform('postgres')) {
    const created = await createDatabase(process.env.DATABASE_URL);
    databases.push({ label: 'postgres', url: created.url, drop: created.drop });
  }
  // With REDIS_URL, one more platform counts rate limits (and DPoP proof ids) in Redis: its cost.
  // Its own database, so that each target's audit rows are counted apart.
  if (process.env.REDIS_URL && onPlatform(`${process.env.DATABASE_URL ? 'postgres' : 'pglite'}+redis`)) {
    const twin = process.env.DATABASE_URL ? await createDatabase(process.env.DATABASE_URL) : undefined;
    databases.push({
      label: `${twin ? 'postgres' : 'pglite'}+redis`,
      url: twin?.url,
      drop: twin?.drop,
      redisUrl: process.env.REDIS_URL,
    });
  }
  // The cost of durable-before-response (the default, AUDIT_DURABILITY=journal: fsynced in the
  // write-ahead log): the same platform with AUDIT_DURABILITY=async, its own database.
  if (onPlatform(`${process.env.DATABASE_URL ? 'postgres' : 'pglite'}-async`)) {
    const asyncTwin = process.env.DATABASE_URL ? await createDatabase(process.env.DATABASE_URL) : undefined;
    databases.push({
      label: `${asyncTwin ? 'postgres' : 'pglite'}-async`,
      url: asyncTwin?.url,
      drop: asyncTwin?.drop,
      env: { AUDIT_DURABILITY: 'async' },
    });
  }
  const platforms = [];
  for (const db of databases) {
    const target = await startPlatform(`platform@${db.label}`, issuer, scraperToken, {
      databaseUrl: db.url,
      redisUrl: db.redisUrl,
      env: db.env,
    });
    platforms.push({ db, target, invoiceId: await seedInvoice(target, oneToken[0]) });
  }
  // bare+db reads the very row the PostgreSQL platform serves, from its database.
  const postgres = platforms.find((p) => p.db.label === 'postgres');
  const bareDb =
    postgres && wanted('bare+db')
      ? await startForked('bare+db', path.join(__dirname, 'apps/bare-db.mjs'), {
          DATABASE_URL: postgres.db.url as string,
          TENANT: 'acme',
        })
      : undefined;

  const eventBody = EVENT_BODY;
  const scenarios: Scenario[] = [
    ...(bare ? [{ name: 'bare', target: bare, method: 'GET' as const, path: '/items/42' }] : []),
    ...(bareDb && postgres
      ? [{ name: 'bare+db', target: bareDb, method: 'GET' as const, path: `/billing/invoices/${postgres.invoiceId}` }]
      : []),
    ...(recipe
      ? [
          { name: 'recipe', target: recipe, method: 'GET' as const, path: '/items/42', tokens: oneToken },
          { name: 'recipe-10k', target: recipe, method: 'GET' as const, path: '/items/42', tokens: manyTokens },
        ]
      : []),
  ];
  for (const { db, target, invoiceId } of platforms) {
    const suffix = `@${db.label}`;
    const read = `/billing/invoices/${invoiceId}`;
    if (db.env?.AUDIT_DURABILITY === 'async') {
      scenarios.push(
        { name: `platform-read${suffix}`, target, method: 'GET', path: read, tokens: oneToken },
        {
          name: `platform-write${suffix}`,
          target,
          method: 'POST',
          path: '/analytics/events',
          body: eventBody,
          tokens: oneToken,
        },
      );
      continue;
    }
    scenarios.push(
      { name: `platform-public${suffix}`, target, method: 'GET', path: '/health/live' },
      { name: `platform-read${suffix}`, target, method: 'GET', path: read, tokens: oneToken },
      { name: `platform-read-10k${suffix}`, target, method: 'GET', path: read, tokens: manyTokens },
      { name: `platform-read-new${suffix}`, target, method: 'GET', path: read, firstSeen },
      {
        name: `platform-write${suffix}`,
        target,
        method: 'POST',
        path: '/analytics/events',
        body: eventBody,
        tokens: oneToken,
      },
      {
        name: `platform-write-10k${suffix}`,
        target,
        method: 'POST',
        path: '/analytics/events',
        body: eventBody,
        tokens: manyTokens,
      },
    );
  }

  const measured = scenarios.filter((scenario) => wanted(scenario.name));
  if (measured.length === 0) throw new Error(`--only names no scenario of this run: ${args.only}`);
  const pids = [bare, recipe, bareDb, ...platforms.map((p) => p.target)]
    .filter((t): t is Target => t !== undefined)
    .map((t) => t.process.pid as number);
  const runs = new Map<string, RoundResult[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const scenario of measured) {
      const window = scenario.firstSeen
        ? `${FIRST_SEEN_WARMUP} + ${FIRST_SEEN_MEASURED} requests with first-seen tokens`
        : `${WARMUP_S}s warm-up + ${DURATION_S}s`;
      progress(`round ${round}/${ROUNDS}: ${scenario.name} (${window}, ${CONNECTIONS} connections, others paused)`);
      runs.set(scenario.name, [...(runs.get(scenario.name) ?? []), await measure(scenario, pids, round)]);
    }
  }

  progress('draining: SIGTERM to every server, then counting audit rows');
  await Promise.all([bare, recipe, bareDb].filter((t): t is Target => t !== undefined).map(stop));
  const audit: Record<
    string,
    { answered: number; records: number; lost: number; journalled: number; duplicated: number }
  > = {};
  for (const { db, target } of platforms) {
    await stop(target);
    // Exact accounting: every answer the load generator received must have exactly one row.
    const audited = await auditedIds(target.dataDir, db.url);
    const journal = journalledIds(target.dataDir);
    const lost = target.answeredIds.filter((id) => !audited.has(id) && !journal.has(id)).length;
    const journalled = target.answeredIds.filter((id) => !audited.has(id) && journal.has(id)).length;
    const duplicated = [...audited.values()].filter((n) => n > 1).length;
    audit[db.label] = {
      answered: target.answeredIds.length,
      records: [...audited.values()].reduce((a, b) => a + b, 0),
      lost,
      journalled,
      duplicated,
    };
    if (lost > 0 && args['keep-logs']) {
      const missing = target.answeredIds.filter((id) => !audited.has(id) && !journal.has(id));
      writeFileSync(path.join(target.dataDir, 'lost-request-ids.txt'), `${missing.join('\n')}\n`);
      progress(
        `${db.label}: ${lost} answers without an audit row; kept ${target.dataDir} (server.log, lost-request-ids.txt)`,
      );
    } else {
      rmSync(target.dataDir, { recursive: true, force: true });
    }
    await db.drop?.();
  }
  issuer.server.close();

  const scenariosOut: Record<string, ScenarioFigures> = {};
  for (const [name, results] of runs) scenariosOut[name] = figures(results);
  const primary = postgres ? '@postgres' : '@pglite';
  const ratio = (a: string, b: string) =>
    scenariosOut[a] && scenariosOut[b]?.rps.median
      ? Math.round((scenariosOut[a].rps.median / scenariosOut[b].rps.median) * 1000) / 1000
      : null;
  const ratios: Record<string, number | null> = {
    read_vs_bare: ratio(`platform-read${primary}`, 'bare'),
    read_vs_recipe: ratio(`platform-read${primary}`, 'recipe'),
    read_vs_bare_db: ratio(`platform-read${primary}`, 'bare+db'),
    read_10k_vs_recipe_10k: ratio(`platform-read-10k${primary}`, 'recipe-10k'),
    write_vs_bare: ratio(`platform-write${primary}`, 'bare'),
    public_vs_bare: ratio(`platform-public${primary}`, 'bare'),
  };
  // The identity layer: the platform's read minus the same read without it, per round (interleaved pairs).
  const platformRead = runs.get('platform-read@postgres');
  const bareDbRuns = runs.get('bare+db');
  const pairs =
    platformRead && bareDbRuns
      ? platformRead.flatMap((r, i) =>
          r.answered > 0 && bareDbRuns[i].answered > 0 ? [r.cpuUsPerRequest - bareDbRuns[i].cpuUsPerRequest] : [],
        )
      : [];
  const identity = pairs.length > 0 ? spread(pairs) : null;
  // A first-seen token: the first-seen read minus the warm read, per round (interleaved pairs).
  const firstSeenPairs = (db: string) => {
    const fresh = runs.get(`platform-read-new@${db}`);
    const warm = runs.get(`platform-read@${db}`);
    return fresh && warm
      ? fresh.flatMap((r, i) =>
          r.answered > 0 && warm[i]?.answered > 0 ? [r.cpuUsPerRequest - warm[i].cpuUsPerRequest] : [],
        )
      : [];
  };
  const firstSeenUs: Record<string, ReturnType<typeof spread>> = {};
  for (const { db } of platforms) {
    const diffs = firstSeenPairs(db.label);
    if (diffs.length > 0) firstSeenUs[db.label] = spread(diffs);
  }
  const firstSeenPrimary = firstSeenUs[primary.slice(1)] ?? Object.values(firstSeenUs)[0] ?? null;
  const lost = Object.values(audit).reduce((s, a) => s + a.lost, 0);
  const duplicated = Object.values(audit).reduce((s, a) => s + a.duplicated, 0);
  const targets = checkTargets(
    scenariosOut,
    identity?.median ?? null,
    lost === 0 && duplicated === 0,
    firstSeenPrimary?.median ?? null,
  );

  const report = {
    generatedAt: new Date().toISOString(),
    mode: QUICK ? 'quick' : 'full',
    machine: machine(),
    settings: {
      connections: CONNECTIONS,
      durationSeconds: DURATION_S,
      warmupSeconds: WARMUP_S,
      rounds: ROUNDS,
      distinctTokens: TOKEN_COUNT,
      firstSeenRequests: { warmup: FIRST_SEEN_WARMUP, measured: FIRST_SEEN_MEASURED, per: 'round and platform' },
      only: ONLY ? [...ONLY] : undefined,
      databases: databases.map((d) => d.label),
      isolation: 'each server measured alone: the other servers are paused (SIGSTOP) meanwhile',
      spread: 'median and min-max over the rounds',
      eventloop: `p99 of monitorEventLoopDelay over the measured window, minus its ${EVENTLOOP_RESOLUTION_MS} ms sampling interval`,
      cpu: 'server process utime+stime (all threads, and waited-for children) over the measured window / answered requests',
    },
    scenarios: scenariosOut,
    ratios,
    identity_layer_us: identity,
    /** CPU µs per request of a first-seen token beyond a warm one, per platform (platform-read-new minus platform-read). */
    first_seen_us: firstSeenUs,
    targets,
    audit: { lost, duplicated, ...audit },
    elapsedSeconds: Math.round((Date.now() - startedAt) / 1000),
  };
  writeFileSync(path.join(RESULTS, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);

  const rows = Object.entries(scenariosOut).map(([name, s]) => ({
    scenario: name,
    'req/s': formatSpread(s.rps),
    'p50 ms': s.p50_ms ? formatSpread(s.p50_ms) : '-',
    'p99 ms': s.p99_ms ? formatSpread(s.p99_ms) : '-',
    'CPU µs/req': s.cpu_us_per_request ? formatSpread(s.cpu_us_per_request) : '-',
    'loop p99 ms': s.eventloop_p99_ms ? formatSpread(s.eventloop_p99_ms) : '-',
    'RSS MB': s.rss_mb,
    'non2xx/err': `${s.non2xx}/${s.errors}`,
    'rounds w/o answer': s.rounds_without_answers,
    'vs bare': ratio(name, 'bare'),
    'vs recipe': name.includes('10k') ? ratio(name, 'recipe-10k') : ratio(name, 'recipe'),
  }));
  console.log(
    `median (min-max) over ${ROUNDS} interleaved rounds, each server measured alone; load average ${machine().loadAverage1m} on ${cpus().length} cores`,
  );
  console.table(rows);
  console.log(
    `identity layer (platform-read@postgres minus bare+db, CPU µs/request): ${identity ? formatSpread(identity) : 'not measured (needs DATABASE_URL, and bare+db with platform-read@postgres)'}`,
  );
  for (const [db, s] of Object.entries(firstSeenUs))
    console.log(
      `first-seen token on ${db} (platform-read-new minus platform-read, CPU µs/request): ${formatSpread(s)}`,
    );
  console.log(`ratios: ${JSON.stringify(ratios)}`);
  console.table(
    targets.map((t) => ({
      target: t.target,
      measured: t.measured ?? '-',
      limit: t.limit,
      met: t.met === null ? 'not measured' : t.met ? 'met' : 'NOT met',
      'bare+db, same figure': t.bareDb ?? '',
    })),
  );
  console.log(`audit: ${JSON.stringify(report.audit)}`);
  console.log(`written: bench/results/latest.json (${report.elapsedSeconds}s)`);
}

// ---------- --profile ----------

/**
 * The platform read on PostgreSQL under load, with V8's sampling profiler in the server: self time
 * per layer over the measured window only (the profile's clock is CLOCK_MONOTONIC, as hrtime).
 */
async function profile(issuer: Issuer, token: string, scraperToken: string): Promise<void> {
  if (!process.env.DATABASE_URL) throw new Error('--profile measures the platform on PostgreSQL: set DATABASE_URL');
  const route = args['profile-route'];
  if (route !== 'read' && route !== 'write') throw new Error('--profile-route is read or write');
  const db = await createDatabase(process.env.DATABASE_URL);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const profileName = `platform-${route}-postgres-${stamp}.cpuprofile`;
  const target = await startPlatform('platform@postgres (profiled)', issuer, scraperToken, {
    databaseUrl: db.url,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${RESULTS}`, `--cpu-prof-name=${profileName}`, '--cpu-prof-interval=250'],
  });
  try {
    const scenario: Scenario =
      route === 'read'
        ? {
            name: 'platform-read@postgres',
            target,
            method: 'GET',
            path: `/billing/invoices/${await seedInvoice(target, token)}`,
            tokens: [token],
          }
        : {
            name: 'platform-write@postgres',
            target,
            method: 'POST',
            path: '/analytics/events',
            body: EVENT_BODY,
            tokens: [token],
          };
    progress(`profiling ${scenario.name}: ${WARMUP_S}s warm-up + ${DURATION_S}s`);
    await fire(scenario, { seconds: WARMUP_S });
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const run = await fire(scenario, { seconds: DURATION_S });
    const toUs = Number(process.hrtime.bigint() / 1000n);
    await stop(target);
    const file = readdirSync(RESULTS).find((f) => f === profileName);
    if (!file) throw new Error(`no profile written (${profileName})`);
    const cpuProfile = JSON.parse(readFileSync(path.join(RESULTS, file), 'utf8')) as CpuProfile;
    const requests = run.result.requests.total;
    const costs = layerCosts(cpuProfile, requests, fromUs, toUs);
    const processUs = Math.round((run.cpuSeconds * 1e6) / requests);
    const mainUs = Math.round((costs.busyMs * 1000) / requests);
    const out = {
      generatedAt: new Date().toISOString(),
      machine: machine(),
      scenario: scenario.name,
      requests,
      rps: Math.round(run.result.requests.average),
      profile: `bench/results/${file}`,
      process_cpu_us_per_request: processUs,
      main_thread_us_per_request: mainUs,
      window_ms: costs.windowMs,
      layers: costs.layers,
    };
    writeFileSync(path.join(RESULTS, 'profile.json'), `${JSON.stringify(out, null, 2)}\n`);
    console.log(
      `${scenario.name}: ${requests} requests, ${out.rps} req/s; process CPU ${processUs} µs/request (/proc, all threads), main thread busy ${mainUs} µs/request (profile)`,
    );
    // V8 samples wall time: on a busy machine a descheduled thread inflates every layer alike, so
    // the shares also scaled to the /proc CPU figure (an upper bound: it includes helper threads).
    console.table(
      costs.layers
        .filter((l) => l.usPerRequest >= 0.1)
        .map((l) => ({
          layer: l.layer,
          'µs/request (profile)': l.usPerRequest,
          share: `${Math.round(l.share * 1000) / 10}%`,
          'share x /proc CPU µs': Math.round(l.share * processUs * 10) / 10,
        })),
    );
    console.log(`written: bench/results/${file}, bench/results/profile.json`);
  } finally {
    await stop(target);
    rmSync(target.dataDir, { recursive: true, force: true });
    await db.drop();
    issuer.server.close();
  }
}

main().catch((err: Error) => {
  progress(`failed: ${err.message}`);
  process.exit(1);
});
