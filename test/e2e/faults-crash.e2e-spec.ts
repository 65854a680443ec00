import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devUserToken } from '@platform/dev-idp';
import { runAuditVerify } from '../support/audit-table';
import { PlatformProcess, stablePort } from '../support/platform-process';
import { availableDatabases, createTestDatabase, testPlatformEnv } from '../support/test-platform';

const AUDIENCE = 'urn:platform:api';
/** Requests answered before the kill (bounded load: 8 clients, a few hundred writes). */
const ANSWERED_BEFORE_KILL = 240;
const CLIENTS = 8;
const INVOICES = 6;

interface Answer {
  requestId: string;
  status: number;
  kind: 'invoice' | 'payment' | 'setup';
  id?: string;
  key?: string;
}

interface PaymentAttempt {
  key: string;
  invoiceId: string;
  answer?: Answer;
}

async function call(
  base: string,
  token: string,
  method: string,
  pathname: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${base}${pathname}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the JSON body of any route, like TestPlatform's responses
  const json: any = text ? JSON.parse(text) : undefined;
  return {
    status: response.status,
    headers: response.headers,
    body: json,
    requestId: response.headers.get('x-request-id') as string,
  };
}

const PAYMENT = { amount: 100, currency: 'EUR' };

describe.runIf(availableDatabases().includes('postgres'))(
  'kill -9 under write load, restart on the same data: nothing answered is lost',
  () => {
    let created: { url: string; drop: () => Promise<void> };
    let dataDir: string;
    let env: Record<string, string>;
    beforeAll(async () => {
      created = await createTestDatabase();
      dataDir = mkdtempSync(path.join(tmpdir(), 'platform-crash-'));
      env = {
        ...testPlatformEnv(dataDir),
        DATABASE_URL: created.url,
        // The issuer (and its key, under DATA_DIR) must be the same after the restart: a port outside
        // the ephemeral range, which no other suite's listen(0) can take while the platform is down.
        DEV_OIDC_PORT: String(await stablePort()),
        // A retry of a key whose process died runs again after this (the lease).
        IDEMPOTENCY_LEASE_MS: '2000',
      };
    }, 180_000);
    afterAll(async () => {
      rmSync(dataDir, { recursive: true, force: true });
      await created?.drop();
    });

    it('every answered request has its access record, every 201 its row and domain event, every key replays or runs once', async () => {
      let platform = await PlatformProcess.start(env);
      let stopped = false;
      const answers: Answer[] = [];
      const attempts: PaymentAttempt[] = [];
      try {
        let bob = await devUserToken(platform.issuer as string, 'bob', AUDIENCE);
        const invoiceIds: string[] = [];
        for (let i = 0; i < INVOICES; i++) {
          const invoice = await call(platform.url, bob, 'POST', '/billing/invoices', {
            customer: `Crash ${i}`,
            currency: 'EUR',
            lines: [{ description: 'Seats', quantity: 1, unitAmount: 10_000_000 }],
          });
          expect(invoice.status).toBe(201);
          answers.push({ requestId: invoice.requestId, status: 201, kind: 'invoice', id: invoice.body.id });
          const opened = await call(platform.url, bob, 'POST', `/billing/invoices/${invoice.body.id}/open`);
          expect(opened.status).toBe(200);
          answers.push({ requestId: opened.requestId, status: 200, kind: 'setup' });
          invoiceIds.push(invoice.body.id);
        }

        // Write load: payments with fresh Idempotency-Keys, and invoices, until the kill.
        let killed = false;
        let reached: () => void;
        const loaded = new Promise<void>((resolve) => (reached = resolve));
        const client = async (n: number) => {
          for (let i = 0; !killed; i++) {
            try {
              if (i % 3 === 2) {
                const invoice = await call(platform.url, bob, 'POST', '/billing/invoices', {
                  customer: `Load ${n}-${i}`,
                  currency: 'EUR',
                  lines: [{ description: 'x', quantity: 2, unitAmount: 150 }],
                });
                answers.push({
                  requestId: invoice.requestId,
                  status: invoice.status,
                  kind: 'invoice',
                  id: invoice.body?.id,
                });
              } else {
                const attempt: PaymentAttempt = { key: `crash-${n}-${i}`, invoiceId: invoiceIds[(n + i) % INVOICES] };
                attempts.push(attempt);
                const paid = await call(
                  platform.url,
                  bob,
                  'POST',
                  `/billing/invoices/${attempt.invoiceId}/payments`,
                  PAYMENT,
                  { 'idempotency-key': attempt.key },
                );
                attempt.answer = {
                  requestId: paid.requestId,
                  status: paid.status,
                  kind: 'payment',
                  id: paid.body?.id,
                  key: attempt.key,
                };
                answers.push(attempt.answer);
              }
              if (answers.length >= ANSWERED_BEFORE_KILL) reached();
            } catch (err) {
              if (killed) return;
              throw err;
            }
          }
        };
        const clients = Array.from({ length: CLIENTS }, (_, n) => client(n));
        await loaded;
        killed = true;
        expect(await platform.stop('SIGKILL')).toBeNull();
        await Promise.all(clients);
        const answeredBeforeKill = answers.length;
        expect(answers.filter((a) => a.status >= 500)).toEqual([]);

        // Restart on the same database and data folder; retry every key that was used.
        platform = await PlatformProcess.start(env);
        bob = await devUserToken(platform.issuer as string, 'bob', AUDIENCE);
        let replayed = 0;
        let ranAgain = 0;
        let waitedForLease = 0;
        for (const attempt of attempts) {
          let retry = await call(
            platform.url,
            bob,
            'POST',
            `/billing/invoices/${attempt.invoiceId}/payments`,
            PAYMENT,
            { 'idempotency-key': attempt.key },
          );
          // A key whose process died mid-request is leased for IDEMPOTENCY_LEASE_MS: 409 until then, with Retry-After.
          for (
            let tries = 0;
            retry.status === 409 && retry.body.reason === 'idempotency_request_in_progress' && tries < 3;
            tries++
          ) {
            waitedForLease++;
            expect(Number(retry.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
            await new Promise((resolve) => setTimeout(resolve, Number(retry.headers.get('retry-after')) * 1000));
            retry = await call(platform.url, bob, 'POST', `/billing/invoices/${attempt.invoiceId}/payments`, PAYMENT, {
              'idempotency-key': attempt.key,
            });
          }
          expect({ key: attempt.key, status: retry.status }).toEqual({ key: attempt.key, status: 201 });
          if (attempt.answer?.status === 201) {
            // Answered before the crash: the committed result, not a second payment.
            expect(retry.headers.get('idempotent-replayed')).toBe('true');
            expect(retry.body.id).toBe(attempt.answer.id);
          }
          if (retry.headers.get('idempotent-replayed') === 'true') replayed++;
          else {
            ranAgain++;
            answers.push({
              requestId: retry.requestId,
              status: retry.status,
              kind: 'payment',
              id: retry.body.id,
              key: attempt.key,
            });
          }
        }

        // The restarted process writes its own records in batches behind its write-ahead log
        // (AUDIT_DURABILITY=journal): a graceful stop writes them all. The killed process's records
        // were replayed from its leftover segments at the restart, before the retries.
        stopped = true;
        await platform.stop('SIGTERM');

        // Exact accounting, read straight from the database.
        const { Client } = await import('pg');
        const db = new Client({ connectionString: created.url });
        await db.connect();
        const rows = async <T>(text: string) => (await db.query(text)).rows as T[];
        const access = new Set(
          (await rows<{ request_id: string }>("select request_id from audit_records where kind = 'access'")).map(
            (r) => r.request_id,
          ),
        );
        const events = await rows<{ request_id: string; event: string; resource_id: string }>(
          "select request_id, event, resource_id from audit_records where kind = 'event'",
        );
        const payments = (await rows<{ id: string }>('select id from billing_payments')).map((r) => r.id);
        const invoices = (await rows<{ id: string }>('select id from billing_invoices')).map((r) => r.id);
        const keys = await rows<{ key: string; status: string; payment: string | null }>(
          "select key, status, response_body->>'id' as payment from idempotency_keys",
        );
        const outbox = Number((await rows<{ n: string }>('select count(*) as n from audit_outbox'))[0].n);
        await db.end();

        const unaudited = answers.filter((a) => !access.has(a.requestId));
        const created201 = answers.filter((a) => a.status === 201);
        const rowIds = new Set([...payments, ...invoices]);
        const eventOf = (a: Answer) => events.filter((e) => e.request_id === a.requestId && e.resource_id === a.id);
        const missingRow = created201.filter((a) => !rowIds.has(a.id as string));
        const missingEvent = created201.filter((a) => eventOf(a).length !== 1);
        // Every row (answered or cut off by the kill) has exactly one domain event: they commit together.
        const eventCount = (name: string, id: string) =>
          events.filter((e) => e.event === name && e.resource_id === id).length;
        const rowsWithoutOneEvent = [
          ...payments.filter((id) => eventCount('billing.payment.recorded', id) !== 1),
          ...invoices.filter((id) => eventCount('billing.invoice.created', id) !== 1),
        ];
        // One payment per key, each the key's stored result; no key left in progress.
        const paymentsByKey = new Map(keys.map((k) => [k.key, k.payment]));
        const usedKeys = new Set(attempts.map((a) => a.key));
        const lost = unaudited.length + missingRow.length + missingEvent.length + rowsWithoutOneEvent.length;
        const figures = {
          answeredBeforeKill,
          answered: answers.length,
          audited: answers.length - unaudited.length,
          created201: created201.length,
          rows: payments.length + invoices.length,
          events: events.length,
          keysRetried: attempts.length,
          replayed,
          ranAgain,
          waitedForLease,
          lost,
        };
        process.stdout.write(`kill -9 under write load: ${JSON.stringify(figures)}\n`);

        expect(unaudited).toEqual([]);
        expect(missingRow).toEqual([]);
        expect(missingEvent).toEqual([]);
        expect(rowsWithoutOneEvent).toEqual([]);
        expect(outbox).toBe(0);
        expect(keys.filter((k) => k.status !== 'completed')).toEqual([]);
        expect(keys.length).toBe(usedKeys.size);
        expect(payments.length).toBe(usedKeys.size);
        expect(new Set(keys.map((k) => k.payment))).toEqual(new Set(payments));
        expect([...usedKeys].filter((key) => !paymentsByKey.get(key))).toEqual([]);
        expect(lost).toBe(0);
      } finally {
        if (!stopped) await platform.stop('SIGTERM');
      }
      const verified = await runAuditVerify({ dataDir, databaseUrl: created.url });
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    }, 240_000);
  },
);
