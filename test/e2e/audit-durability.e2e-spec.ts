import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditChainVerifier, AuditRepository, AuditWriter, type AuditRow } from '@platform/audit';
import { type NewAuditRow } from '@platform/audit/testing';
import { PlatformMetrics } from '@platform/observability';
import { runAuditVerify } from '../support/audit-table';
import { PGLITE_TEMPLATE_ENV } from '../support/global-setup';
import { TcpProxy } from '../support/tcp-proxy';
import { availableDatabases, createTestDatabase, TestPlatform, testPlatformEnv } from '../support/test-platform';

const ROOT = path.resolve(__dirname, '../..');

/** A record as a platform would have journalled it. */
function journalRecord(requestId: string, at: Date): NewAuditRow {
  return {
    recordId: randomUUID(),
    kind: 'access',
    traceId: randomBytes(16).toString('hex'),
    occurredAt: at,
    requestId,
    decision: null,
    reason: 'route_not_found',
    errorReason: null,
    subject: null,
    principalType: null,
    clientId: null,
    tenant: null,
    issuer: null,
    app: 'platform',
    method: 'GET',
    route: null,
    path: `/journalled/${requestId}`,
    requiredPermissions: [],
    status: 404,
    durationMs: 0.25,
    clientIp: '127.0.0.1',
    details: null,
  };
}

/** Every record of the table, oldest first, through the platform's repository. */
async function allRecords(platform: TestPlatform): Promise<AuditRow[]> {
  const repository = platform.running.app.get(AuditRepository);
  const rows: AuditRow[] = [];
  for (
    let page = await repository.ascendingPage(0, 1000);
    page.length > 0;
    page = await repository.ascendingPage(rows[rows.length - 1].id, 1000)
  )
    rows.push(...page);
  return rows;
}

/** Resolves the next time the writer switches target. */
function nextTarget(platform: TestPlatform, target: 'database' | 'journal'): Promise<void> {
  return new Promise((resolve) => {
    const off = platform.running.app.get(AuditWriter).onTargetChange((t) => {
      if (t === target) {
        off();
        resolve();
      }
    });
  });
}

describe.each(availableDatabases())('audit durability on %s', (database) => {
  it('replays a journal left by an earlier run at start: in order, once each, chain intact; a second replay adds nothing', async () => {
    const journalDir = mkdtempSync(path.join(tmpdir(), 'audit-journal-'));
    const base = Date.now() - 10_000;
    const records = ['j-1', 'j-2', 'j-3'].map((id, i) => journalRecord(id, new Date(base + i)));
    const journal = (rows: NewAuditRow[], torn = '') =>
      writeFileSync(
        path.join(journalDir, 'audit-journal.ndjson'),
        rows.map((r) => JSON.stringify(r)).join('\n') + '\n' + torn,
      );
    // The second record twice (appended again before a crash); a record the database refuses as
    // data (a NUL character, which PostgreSQL text cannot hold); a line torn by the crash.
    const poison = { ...journalRecord('j-poison', new Date(base + 1)), path: '/a\u0000b' };
    journal([records[0], records[1], poison, records[1], records[2]], '{"recordId":"to');
    const first = await TestPlatform.start({ AUDIT_JOURNAL_DIR: journalDir }, database);
    let second: TestPlatform | undefined;
    try {
      await first.flushAudit();
      expect(first.running.app.get(AuditWriter).target).toBe('database');
      const rows = (await allRecords(first)).filter((r) => r.requestId.startsWith('j-'));
      expect(rows.map((r) => r.requestId)).toEqual(['j-1', 'j-2', 'j-3']);
      expect(rows.map((r) => r.recordId)).toEqual(records.map((r) => r.recordId));
      expect(new AuditChainVerifier().check(await allRecords(first))).toBeUndefined();
      expect(statSync(path.join(journalDir, 'audit-journal.ndjson')).size).toBe(0);
      const metrics = await first.running.app.get(PlatformMetrics).exposition();
      expect(metrics.body).toMatch(/^platform_audit_journal_replayed_records_total 3$/m);
      expect(metrics.body).toMatch(/^platform_audit_records_dropped_total 1$/m);
      // The refused record blocks nothing: it is set aside, counted and kept for an operator.
      expect(metrics.body).toMatch(/^platform_audit_records_rejected_total 1$/m);
      const rejected = readFileSync(path.join(journalDir, 'audit-rejected.ndjson'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(rejected).toMatchObject([
        { sqlstate: expect.stringMatching(/^22/), record: { recordId: poison.recordId } },
      ]);

      // A crash after the replay but before the journal was emptied: the same records come again.
      await first.running.close();
      journal(records);
      const reuse: Record<string, string> =
        database === 'postgres'
          ? { DATABASE_URL: first.running.config.databaseUrl as string }
          : { DATA_DIR: first.running.config.dataDir };
      second = await TestPlatform.start({ ...reuse, AUDIT_JOURNAL_DIR: journalDir }, database);
      await second.flushAudit();
      const again = await allRecords(second);
      expect(again.filter((r) => r.requestId.startsWith('j-')).map((r) => r.requestId)).toEqual(['j-1', 'j-2', 'j-3']);
      expect(new AuditChainVerifier().check(again)).toBeUndefined();
    } finally {
      await second?.close();
      await first.close();
      rmSync(journalDir, { recursive: true, force: true });
    }
  });

  it('SIGTERM under load: every answered request has exactly one access record in the table', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'platform-sigterm-'));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      ...testPlatformEnv(dataDir),
      // Everything stays in memory until the signal: the drain is what writes it.
      AUDIT_FLUSH_INTERVAL_MS: '60000',
      AUDIT_BATCH_SIZE: '10000',
    };
    let dropDatabase = async () => undefined as void;
    if (database === 'postgres') {
      const created = await createTestDatabase();
      env.DATABASE_URL = created.url;
      dropDatabase = created.drop;
    } else {
      cpSync(process.env[PGLITE_TEMPLATE_ENV] as string, dataDir, { recursive: true });
    }
    const child = spawn(process.execPath, ['dist/src/main.js'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let buffered = '';
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          const match = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"Platform listening"/.exec(buffered);
          if (match) resolve(match[1]);
        });
        child.on('exit', () => reject(new Error(`platform exited before listening: ${buffered.slice(-2000)}`)));
      });
      const answered: string[] = [];
      let signalled = false;
      let reachedLoad: () => void;
      const loaded = new Promise<void>((resolve) => (reachedLoad = resolve));
      const loop = async (n: number) => {
        for (let i = 0; ; i++) {
          try {
            const response = await fetch(`${url}${(n + i) % 2 ? '/health/live' : '/billing/invoices'}`);
            await response.arrayBuffer();
            answered.push(response.headers.get('x-request-id') as string);
            if (answered.length >= 300) reachedLoad();
          } catch {
            if (signalled) return;
            throw new Error('request failed before the signal');
          }
        }
      };
      const loops = Array.from({ length: 16 }, (_, n) => loop(n));
      await loaded;
      signalled = true;
      child.kill('SIGTERM');
      await Promise.all(loops);
      expect(await exited).toBe(0);
      expect(answered.length).toBeGreaterThanOrEqual(300);

      const written = await accessRequestIds({ dataDir, databaseUrl: env.DATABASE_URL });
      const counts = new Map<string, number>();
      for (const id of written) counts.set(id, (counts.get(id) ?? 0) + 1);
      const missing = answered.filter((id) => counts.get(id) !== 1);
      expect(missing).toEqual([]);
      expect((await runAuditVerify({ dataDir, databaseUrl: env.DATABASE_URL })).code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
      await dropDatabase();
    }
  }, 120_000);
});

describe.runIf(availableDatabases().includes('postgres'))('audit durability through a PostgreSQL outage', () => {
  let proxy: TcpProxy;
  let created: { url: string; drop: () => Promise<void> };
  beforeAll(async () => {
    created = await createTestDatabase();
    const target = new URL(created.url);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  });
  afterAll(async () => {
    await proxy?.close();
    await created?.drop();
  });

  it('records made while the database is down go to the journal and reach the table once each, in order, chain intact', async () => {
    const viaProxy = new URL(created.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const platform = await TestPlatform.start({
      DATABASE_URL: viaProxy.toString(),
      AUDIT_REPLAY_INTERVAL_MS: '100',
      AUDIT_WRITE_TIMEOUT_MS: '2000',
    });
    try {
      const olivia = await platform.userToken('olivia');
      const answered: Array<{ requestId: string; status: number }> = [];
      let running = true;
      const waiters: Array<[number, () => void]> = [];
      const reached = (n: number) => new Promise<void>((resolve) => waiters.push([answered.length + n, resolve]));
      // Routes that need no database: the platform keeps answering through the outage.
      const routes: Array<[string, string | undefined]> = [
        ['/health/live', undefined],
        ['/billing/invoices', undefined],
        ['/platform/routes', olivia],
      ];
      const loop = async (n: number) => {
        for (let i = n; running; i++) {
          const [route, token] = routes[i % routes.length];
          const response = await platform.request('GET', route, { token });
          answered.push({ requestId: response.requestId, status: response.status });
          for (const [count, resolve] of waiters) if (answered.length >= count) resolve();
        }
      };
      const loops = Array.from({ length: 6 }, (_, n) => loop(n));

      await reached(60);
      const journalling = nextTarget(platform, 'journal');
      proxy.cut();
      await journalling;
      await reached(150);
      const recovered = nextTarget(platform, 'database');
      proxy.restore();
      await recovered;
      await reached(60);
      running = false;
      await Promise.all(loops);
      await platform.flushAudit();

      expect(answered.filter((a) => a.status >= 500)).toEqual([]);
      const rows = await allRecords(platform);
      const counts = new Map<string, number>();
      for (const row of rows)
        if (row.kind === 'access') counts.set(row.requestId, (counts.get(row.requestId) ?? 0) + 1);
      expect(answered.filter((a) => counts.get(a.requestId) !== 1)).toEqual([]);
      // Journalled records kept their place: id order is arrival order.
      for (let i = 1; i < rows.length; i++)
        expect(rows[i].occurredAt.getTime()).toBeGreaterThanOrEqual(rows[i - 1].occurredAt.getTime());
      expect(new AuditChainVerifier().check(rows)).toBeUndefined();

      const metrics = (await platform.running.app.get(PlatformMetrics).exposition()).body;
      expect(Number(/^platform_audit_journal_spilled_records_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
      expect(Number(/^platform_audit_journal_replayed_records_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
      expect(metrics).toMatch(/^platform_audit_records_dropped_total 0$/m);
      expect(platform.logLines().some((l) => l.msg === 'Audit journal replayed into the database')).toBe(true);
    } finally {
      await platform.close();
    }
    expect((await runAuditVerify({ dataDir: tmpdir(), databaseUrl: created.url })).code).toBe(0);
  }, 60_000);
});

/** Request ids of every access record, read straight from the database the child process used. */
async function accessRequestIds(target: { dataDir: string; databaseUrl?: string }): Promise<string[]> {
  const query = "select request_id from audit_records where kind = 'access'";
  if (target.databaseUrl) {
    const { Client } = await import('pg');
    const client = new Client({ connectionString: target.databaseUrl });
    await client.connect();
    const { rows } = await client.query<{ request_id: string }>(query);
    await client.end();
    return rows.map((r) => r.request_id);
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create(path.join(target.dataDir, 'pglite'));
  const { rows } = await db.query<{ request_id: string }>(query);
  await db.close();
  return rows.map((r) => r.request_id);
}
