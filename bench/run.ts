/**
 * `npm run bench [-- --quick]`: what the identity layer costs, side by side in one run.
 *
 * Starts, each in its own process on 127.0.0.1: a bare Fastify server, the NestJS-docs recipe app
 * (bench/apps/recipe) and the platform (embedded PGlite; and PostgreSQL too when DATABASE_URL is
 * set), all trusting one local test issuer. Then measures interleaved rounds of every scenario with
 * autocannon (64 connections, warm-up before each), with one token and with 10,000 distinct tokens,
 * and reports requests/s, latency percentiles, errors, peak RSS and CPU per request, ratios, and
 * audit completeness (audit rows written vs requests answered, after a drain).
 * Writes bench/results/latest.json. Never imported by the product.
 */
import autocannon from 'autocannon';
import { execSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(__dirname, '..');
const AUDIENCE = 'bench-api';
const CONNECTIONS = 64;
const TOKEN_COUNT = 10_000;

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false }, 'skip-build': { type: 'boolean', default: false } } });
const QUICK = args.quick;
const DURATION_S = QUICK ? 3 : 10;
const WARMUP_S = QUICK ? 1 : 3;
const ROUNDS = QUICK ? 1 : 3;

const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

// ---------- a local issuer: discovery + JWKS over HTTP, tokens signed here ----------

interface Issuer {
  url: string;
  server: Server;
  key: KeyObject;
  kid: string;
}

async function startIssuer(): Promise<Issuer> {
  // As PEM, then parsed: a JWK exported from a freshly generated KeyObject can deadlock Node 20.
  const pem = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const [privateKey, publicKey] = [createPrivateKey(pem.privateKey), createPublicKey(pem.publicKey)];
  const kid = 'bench-k1';
  const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' }] });
  let url = '';
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') res.end(JSON.stringify({ issuer: url, jwks_uri: `${url}/jwks` }));
    else if (req.url === '/jwks') res.end(jwks);
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, server, key: privateKey, kid };
}

function signToken(issuer: Issuer, claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'RS256', typ: 'at+jwt', kid: issuer.kid })}.${b64({ iss: issuer.url, aud: AUDIENCE, iat: now, exp: now + 3600, jti: randomBytes(8).toString('hex'), ...claims })}`;
  return `${input}.${sign('sha256', Buffer.from(input), issuer.key).toString('base64url')}`;
}

/** Users (role admin) and machine clients (scopes), all in tenant acme, all allowed on every route measured. */
function makeTokens(issuer: Issuer, count: number): string[] {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 4 === 3) {
      const client = `bench-bot-${i % 50}`;
      tokens.push(signToken(issuer, { sub: client, client_id: client, tenant: 'acme', roles: ['admin'], scope: 'billing:invoices:read analytics:events:write' }));
    } else {
      tokens.push(signToken(issuer, { sub: `bench-user-${i}`, client_id: 'bench-web', tenant: 'acme', roles: ['admin'] }));
    }
  }
  return tokens;
}

// ---------- servers under test ----------

interface Target {
  name: string;
  process: ChildProcess;
  url: string;
  /** Request ids of every answer this process gave (platform only: `X-Request-Id`). */
  answeredIds: string[];
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startForked(name: string, file: string, env: Record<string, string>): Promise<Target> {
  const child = fork(file, [], { env: { ...process.env, ...env, PORT: '0' }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { ready: number }) => resolve(m.ready));
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  return { name, process: child, url: `http://127.0.0.1:${port}`, answeredIds: [] };
}

async function startPlatform(name: string, issuer: Issuer, databaseUrl?: string, redisUrl?: string, extraEnv: Record<string, string> = {}): Promise<Target & { dataDir: string }> {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'platform-bench-'));
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js')], {
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
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { DATABASE_URL: '' }),
      // Counters in Redis only for the platform@...+redis target.
      REDIS_URL: redisUrl ?? '',
      REDIS_KEY_PREFIX: `bench-${randomBytes(4).toString('hex')}:`,
      ...extraEnv,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const target = { name, process: child, url: `http://127.0.0.1:${port}`, answeredIds: [] as string[], dataDir };
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

// ---------- process measurements (Linux /proc) ----------

const CLOCK_TICKS = 100;
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
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
}

interface RunResult {
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  non2xx: number;
  errors: number;
  answered: number;
  rssPeakMb: number;
  cpuUsPerRequest: number;
}

async function fire(scenario: Scenario, seconds: number): Promise<{ result: autocannon.Result; rssPeakMb: number; cpuSeconds: number }> {
  const pid = scenario.target.process.pid as number;
  const tokens = scenario.tokens;
  let next = 0;
  const headers: Record<string, string> = scenario.body ? { 'content-type': 'application/json' } : {};
  if (tokens?.length === 1) headers.authorization = `Bearer ${tokens[0]}`;
  let rssPeakMb = rssMb(pid);
  const sampler = setInterval(() => (rssPeakMb = Math.max(rssPeakMb, rssMb(pid))), 200);
  const cpuBefore = cpuSeconds(pid);
  const result = await autocannon({
    url: scenario.target.url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: scenario.method,
        path: scenario.path,
        headers,
        body: scenario.body,
        onResponse: (_status: number, _body: string, _context: object, responseHeaders?: Record<string, string | string[] | undefined>) => {
          const id = responseHeaders?.['x-request-id'];
          if (typeof id === 'string') scenario.target.answeredIds.push(id);
        },
        ...(tokens && tokens.length > 1 && {
          setupRequest: (request: autocannon.Request) => {
            request.headers = { ...request.headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` };
            return request;
          },
        }),
      },
    ],
  });
  clearInterval(sampler);
  return { result, rssPeakMb: Math.max(rssPeakMb, rssMb(pid)), cpuSeconds: cpuSeconds(pid) - cpuBefore };
}

async function measure(scenario: Scenario): Promise<RunResult> {
  await fire(scenario, WARMUP_S);
  const run = await fire(scenario, DURATION_S);
  const r = run.result;
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    answered: r.requests.total,
    rssPeakMb: run.rssPeakMb,
    cpuUsPerRequest: r.requests.total > 0 ? (run.cpuSeconds * 1e6) / r.requests.total : 0,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

// ---------- audit completeness ----------

async function stop(target: Target): Promise<void> {
  if (target.process.exitCode !== null) return;
  const exited = new Promise((resolve) => target.process.once('exit', resolve));
  target.process.kill('SIGTERM');
  await exited;
}

/** Request ids in the audit table, with how often each appears. */
async function auditedIds(dataDir: string, databaseUrl?: string): Promise<Map<string, number>> {
  // Access records only: domain events (kind 'event') share their request's id.
  const sql = "select request_id from audit_records where kind = 'access'";
  let rows: { request_id: string }[];
  if (databaseUrl) {
    const { Client } = await import('pg');
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    rows = (await client.query<{ request_id: string }>(sql)).rows;
    await client.end();
  } else {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create(path.join(dataDir, 'pglite'));
    rows = (await db.query<{ request_id: string }>(sql)).rows;
    await db.close();
  }
  const counts = new Map<string, number>();
  for (const { request_id } of rows) counts.set(request_id, (counts.get(request_id) ?? 0) + 1);
  return counts;
}

async function createDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const { Client } = await import('pg');
  const name = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

// ---------- main ----------

async function main(): Promise<void> {
  const started = Date.now();
  if (!args['skip-build']) {
    progress('building the platform and the recipe app');
    execSync('npx nest build && npx tsc -p bench/tsconfig.json', { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const issuer = await startIssuer();
  progress(`signing ${TOKEN_COUNT} distinct tokens (users and machine clients)`);
  const manyTokens = makeTokens(issuer, TOKEN_COUNT);
  const oneToken = [manyTokens[0]];

  progress('starting bare, recipe and platform servers');
  const bare = await startForked('bare', path.join(__dirname, 'apps/bare.mjs'), {});
  const recipe = await startForked('recipe', path.join(__dirname, 'dist/apps/recipe/main.js'), {
    JWKS_URI: `${issuer.url}/jwks`,
    ISSUER: issuer.url,
    AUDIENCE,
  });
  const databases: { label: string; url?: string; redisUrl?: string; drop?: () => Promise<void>; env?: Record<string, string> }[] = [{ label: 'pglite' }];
  if (process.env.DATABASE_URL) {
    const created = await createDatabase(process.env.DATABASE_URL);
    databases.push({ label: 'postgres', url: created.url, drop: created.drop });
  }
  // With REDIS_URL, one more platform counts rate limits (and DPoP proof ids) in Redis: its cost.
  // Its own database, so that each target's audit rows are counted apart.
  if (process.env.REDIS_URL) {
    const twin = process.env.DATABASE_URL ? await createDatabase(process.env.DATABASE_URL) : undefined;
    databases.push({ label: `${twin ? 'postgres' : 'pglite'}+redis`, url: twin?.url, drop: twin?.drop, redisUrl: process.env.REDIS_URL });
  }
  // The cost of durable-before-response (the default, AUDIT_DURABILITY=journal: fsynced in the
  // write-ahead log): the same platform with AUDIT_DURABILITY=async (records written after the
  // response), on the main database, its own copy.
  {
    const asyncTwin = process.env.DATABASE_URL ? await createDatabase(process.env.DATABASE_URL) : undefined;
    databases.push({ label: `${asyncTwin ? 'postgres' : 'pglite'}-async`, url: asyncTwin?.url, drop: asyncTwin?.drop, env: { AUDIT_DURABILITY: 'async' } });
  }
  const platforms = [];
  for (const db of databases) {
    const target = await startPlatform(`platform@${db.label}`, issuer, db.url, db.redisUrl, db.env);
    const seed = await fetch(`${target.url}/billing/invoices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${oneToken[0]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ customer: 'Bench', currency: 'EUR', lines: [{ description: 'x', quantity: 1, unitAmount: 100 }] }),
    });
    if (seed.status !== 201) throw new Error(`seeding an invoice on ${db.label} answered ${seed.status}`);
    target.answeredIds.push(seed.headers.get('x-request-id') as string);
    const invoiceId = ((await seed.json()) as { id: string }).id;
    platforms.push({ db, target, invoiceId });
  }

  const eventBody = JSON.stringify({ events: [{ name: 'bench', timestamp: '2026-11-30T12:00:00Z', properties: { n: 1 } }] });
  const scenarios: Scenario[] = [
    { name: 'bare', target: bare, method: 'GET', path: '/items/42' },
    { name: 'recipe', target: recipe, method: 'GET', path: '/items/42', tokens: oneToken },
    { name: 'recipe-10k', target: recipe, method: 'GET', path: '/items/42', tokens: manyTokens },
  ];
  for (const { db, target, invoiceId } of platforms) {
    const suffix = databases.length > 1 ? `@${db.label}` : '';
    if (db.env?.AUDIT_DURABILITY === 'async') {
      scenarios.push(
        { name: `platform-read${suffix}`, target, method: 'GET', path: `/billing/invoices/${invoiceId}`, tokens: oneToken },
        { name: `platform-write${suffix}`, target, method: 'POST', path: '/analytics/events', body: eventBody, tokens: oneToken },
      );
      continue;
    }
    scenarios.push(
      { name: `platform-public${suffix}`, target, method: 'GET', path: '/health/live' },
      { name: `platform-read${suffix}`, target, method: 'GET', path: `/billing/invoices/${invoiceId}`, tokens: oneToken },
      { name: `platform-read-10k${suffix}`, target, method: 'GET', path: `/billing/invoices/${invoiceId}`, tokens: manyTokens },
      { name: `platform-write${suffix}`, target, method: 'POST', path: '/analytics/events', body: eventBody, tokens: oneToken },
      { name: `platform-write-10k${suffix}`, target, method: 'POST', path: '/analytics/events', body: eventBody, tokens: manyTokens },
    );
  }

  const runs = new Map<string, RunResult[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const scenario of scenarios) {
      progress(`round ${round}/${ROUNDS}: ${scenario.name} (${WARMUP_S}s warm-up + ${DURATION_S}s, ${CONNECTIONS} connections)`);
      const result = await measure(scenario);
      runs.set(scenario.name, [...(runs.get(scenario.name) ?? []), result]);
    }
  }

  progress('draining: SIGTERM to every server, then counting audit rows');
  await Promise.all([stop(bare), stop(recipe)]);
  const audit: Record<string, unknown> = {};
  let lost = 0;
  for (const { db, target } of platforms) {
    await stop(target);
    // Exact accounting: every answer the load generator received must have exactly one row.
    const audited = await auditedIds(target.dataDir, db.url);
    const missing = target.answeredIds.filter((id) => !audited.has(id)).length;
    const duplicated = [...audited.values()].filter((n) => n > 1).length;
    lost += missing;
    audit[db.label] = { answered: target.answeredIds.length, records: [...audited.values()].reduce((a, b) => a + b, 0), lost: missing, duplicated };
    rmSync(target.dataDir, { recursive: true, force: true });
    await db.drop?.();
  }
  issuer.server.close();

  const scenariosOut: Record<string, Record<string, number>> = {};
  for (const [name, results] of runs) {
    scenariosOut[name] = {
      rps: Math.round(median(results.map((r) => r.rps))),
      p50_ms: median(results.map((r) => r.p50)),
      p90_ms: median(results.map((r) => r.p90)),
      p99_ms: median(results.map((r) => r.p99)),
      non2xx: results.reduce((s, r) => s + r.non2xx, 0),
      errors: results.reduce((s, r) => s + r.errors, 0),
      rss_mb: Math.round(Math.max(...results.map((r) => r.rssPeakMb))),
      cpu_us_per_request: Math.round(median(results.map((r) => r.cpuUsPerRequest))),
    };
  }
  // Ratios are given for PostgreSQL when it ran, else for the embedded database (never the +redis twin).
  const primary = databases.length > 1 ? `@${databases.some((d) => d.label === 'postgres') ? 'postgres' : databases[0].label}` : '';
  const ratio = (a: string, b: string) => Math.round((scenariosOut[a].rps / scenariosOut[b].rps) * 1000) / 1000;
  const ratios: Record<string, number> = {
    read_vs_bare: ratio(`platform-read${primary}`, 'bare'),
    read_vs_recipe: ratio(`platform-read${primary}`, 'recipe'),
    read_10k_vs_bare: ratio(`platform-read-10k${primary}`, 'bare'),
    read_10k_vs_recipe: ratio(`platform-read-10k${primary}`, 'recipe-10k'),
    write_vs_bare: ratio(`platform-write${primary}`, 'bare'),
    public_vs_bare: ratio(`platform-public${primary}`, 'bare'),
  };
  for (const name of Object.keys(scenariosOut)) ratios[`${name}_vs_bare`] = ratio(name, 'bare');

  const report = {
    generatedAt: new Date().toISOString(),
    mode: QUICK ? 'quick' : 'full',
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
    settings: { connections: CONNECTIONS, durationSeconds: DURATION_S, warmupSeconds: WARMUP_S, rounds: ROUNDS, distinctTokens: TOKEN_COUNT, databases: databases.map((d) => d.label) },
    scenarios: scenariosOut,
    ratios,
    audit: { lost, ...audit },
    elapsedSeconds: Math.round((Date.now() - started) / 1000),
  };
  mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  writeFileSync(path.join(__dirname, 'results/latest.json'), `${JSON.stringify(report, null, 2)}\n`);

  const rows = Object.entries(scenariosOut).map(([name, s]) => ({
    scenario: name,
    'req/s': s.rps,
    'p50 ms': s.p50_ms,
    'p90 ms': s.p90_ms,
    'p99 ms': s.p99_ms,
    non2xx: s.non2xx,
    errors: s.errors,
    'RSS MB': s.rss_mb,
    'CPU us/req': s.cpu_us_per_request,
    'vs bare': ratio(name, 'bare'),
    'vs recipe': name.includes('10k') ? ratio(name, 'recipe-10k') : ratio(name, 'recipe'),
  }));
  console.table(rows);
  console.log(`ratios: ${JSON.stringify(ratios)}`);
  console.log(`audit: ${JSON.stringify(report.audit)}`);
  console.log(`written: bench/results/latest.json (${report.elapsedSeconds}s)`);
}

main().catch((err: Error) => {
  progress(`failed: ${err.message}`);
  process.exit(1);
});
