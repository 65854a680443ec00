import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { AuditWriter } from '@platform/audit';
import { type NewAuditRow } from '@platform/audit/testing';
import { SecretsService } from '@platform/secrets';
import { delegatedToken, devClientToken, devUserToken, DEV_MACHINE_CLIENTS } from '@platform/dev-idp';
import type { FeatureApp } from '@platform/feature-apps';
import { __resetOutOfContextForTests } from 'nestjs-pino/PinoLogger';
import { startPlatform, type RunningPlatform } from '../../src/bootstrap';
import { PGLITE_TEMPLATE_ENV } from './global-setup';

export type DatabaseKind = 'pglite' | 'postgres';

/** The databases this run can test against: PGlite always, PostgreSQL when TEST_DATABASE_URL is set. */
export function availableDatabases(): DatabaseKind[] {
  return process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

/** The environment of a platform under test: free ports on 127.0.0.1, its own data folder, JSON logs. */
export function testPlatformEnv(dataDir: string): Record<string, string> {
  return {
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DEV_OIDC_PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    RATE_LIMITS_FILE: path.resolve(__dirname, '../fixtures/rate-limits.test.yaml'),
  };
}

/** Runs one statement as the administrator of the PostgreSQL server of TEST_DATABASE_URL. */
export async function runAdminSql(statement: string): Promise<void> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: process.env.TEST_DATABASE_URL as string });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A fresh database on the PostgreSQL server of TEST_DATABASE_URL, and how to drop it. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = process.env.TEST_DATABASE_URL as string;
  const name = `e2e_${randomBytes(6).toString('hex')}`;
  const run = runAdminSql;
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** A response read whole: status, headers, and the body parsed as JSON when it is JSON. */
export interface TestResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the JSON body of any route: each test asserts the shape it reads
  body: any;
  requestId: string;
}

/**
 * The whole platform, started for one test suite over real HTTP: its own data folder (a copy of
 * the migrated PGlite template) or its own PostgreSQL database, the development provider unless
 * `OIDC_ISSUER` is given, and every JSON log line captured in `logs`.
 */
export class TestPlatform {
  readonly audit: NewAuditRow[] = [];
  private readonly waiters = new Map<string, (row: NewAuditRow) => void>();
  private constructor(
    readonly running: RunningPlatform,
    /** Every log line the platform wrote, raw. */
    readonly logs: string[],
    private readonly cleanup: () => Promise<void>,
  ) {}

  static async start(
    env: Record<string, string> = {},
    database: DatabaseKind = 'pglite',
    apps: FeatureApp[] = [],
    allowRoutesWithoutPolicy = false,
  ): Promise<TestPlatform> {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'platform-e2e-'));
    let dropDatabase = async () => undefined as void;
    const dbEnv: Record<string, string> = {};
    if (database === 'postgres') {
      const created = await createTestDatabase();
      dbEnv.DATABASE_URL = created.url;
      dropDatabase = created.drop;
    } else {
      const template = process.env[PGLITE_TEMPLATE_ENV];
      if (!template)
        throw new Error(
          `${PGLITE_TEMPLATE_ENV} is not set: run the tests through vitest (test/support/global-setup.ts)`,
        );
      cpSync(template, dataDir, { recursive: true });
    }
    const logs: string[] = [];
    const cleanup = async () => {
      rmSync(dataDir, { recursive: true, force: true });
      await dropDatabase();
    };
    // nestjs-pino keeps Nest's logger in a module-wide variable: give this platform its own.
    __resetOutOfContextForTests();
    const running = await startPlatform({
      env: {
        ...testPlatformEnv(dataDir),
        POLICY_FILE: path.resolve(__dirname, '../../config/policy.yaml'),
        AUDIT_FLUSH_INTERVAL_MS: '20',
        ...dbEnv,
        ...env,
      },
      logDestination: { write: (line: string) => void logs.push(line) },
      apps,
      allowRoutesWithoutPolicy,
    }).catch(async (err: Error) => {
      await cleanup();
      throw err;
    });
    const platform = new TestPlatform(running, logs, cleanup);
    running.app.get(AuditWriter).subscribe((row) => {
      platform.audit.push(row);
      platform.waiters.get(row.requestId)?.(row);
    });
    return platform;
  }

  get url(): string {
    return this.running.url;
  }

  get issuer(): string {
    return this.running.config.oidc.issuer as string;
  }

  get audience(): string {
    return this.running.config.oidc.audiences[0];
  }

  /** A token for a seeded user, through the development provider's authorization-code flow. */
  userToken(username: string): Promise<string> {
    return devUserToken(this.issuer, username, this.audience);
  }

  /** A token of a seeded agent acting for a seeded user (RFC 8693 token exchange of the user's token). */
  async delegatedToken(username: string, agentId: string, scopes?: string[]): Promise<string> {
    const agent = DEV_MACHINE_CLIENTS.find((c) => c.clientId === agentId) as { clientId: string; clientSecret: string };
    return delegatedToken(this.issuer, await this.userToken(username), agent, this.audience, scopes);
  }

  /** A token for a seeded machine client, through client credentials. */
  clientToken(clientId: string): Promise<string> {
    return devClientToken(this.issuer, clientId, this.audience);
  }

  async request(
    method: string,
    pathname: string,
    options: {
      token?: string;
      scheme?: 'Bearer' | 'DPoP';
      body?: unknown;
      rawBody?: string;
      headers?: Record<string, string>;
    } = {},
  ): Promise<TestResponse> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `${options.scheme ?? 'Bearer'} ${options.token}`;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(options.body);
    }
    const response = await fetch(`${this.url}${pathname}`, { method, headers, body });
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    return {
      status: response.status,
      headers: response.headers,
      body: type.includes('json') && text ? (JSON.parse(text) as unknown) : text,
      requestId: response.headers.get('x-request-id') ?? '',
    };
  }

  /** The audit record of one request, as soon as the platform has queued it (no polling). */
  auditOf(requestId: string): Promise<NewAuditRow> {
    const existing = this.audit.find((r) => r.requestId === requestId);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve) => this.waiters.set(requestId, resolve));
  }

  /** Every audit record queued for one request id (to prove there is exactly one). */
  async auditCount(requestId: string): Promise<number> {
    await this.auditOf(requestId);
    await this.running.app.get(AuditWriter).flush();
    return this.audit.filter((r) => r.requestId === requestId).length;
  }

  /** Writes every queued audit record (to the database, or the journal during an outage). */
  flushAudit(): Promise<void> {
    return this.running.app.get(AuditWriter).flush();
  }

  /** Parsed JSON log lines. */
  logLines(): Record<string, unknown>[] {
    return this.logs
      .flatMap((line) => line.split('\n').filter(Boolean))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /**
   * Stops the platform, then checks its whole log: no value any declared secret had during the
   * run may appear in it (every e2e suite does this at its end, so the run is grepped for each
   * secret). @throws Error naming the secret whose value leaked
   */
  async close(): Promise<void> {
    const secrets = this.running.app.get(SecretsService);
    const values = new Map<string, string>();
    const collect = () => {
      for (const { name } of secrets.describe()) for (const value of secrets.accepted(name)) values.set(value, name);
    };
    collect();
    const unsubscribe = secrets.onChange(collect);
    await this.running.close();
    unsubscribe();
    await this.cleanup();
    const log = this.logs.join('');
    for (const [value, name] of values) {
      if (log.includes(value)) throw new Error(`the value of secret "${name}" appears in the platform's log`);
    }
  }
}
