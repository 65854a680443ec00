import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, PlatformProcess } from '../support/platform-process';
import { TestIssuer } from '../support/test-issuer';
import { createTestDatabase } from '../support/test-platform';

/** One span as an OTLP/HTTP JSON export carries it (opentelemetry-proto, JSON mapping). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: Record<string, unknown> }[];
  scope: string;
}

if (!process.env.TEST_DATABASE_URL)
  process.stdout.write(
    '[e2e] OpenTelemetry export: SKIPPED (TEST_DATABASE_URL is not set: the database spans come from the pg instrumentation)\n',
  );

describe.runIf(process.env.TEST_DATABASE_URL)(
  'OpenTelemetry: one request, one trace exported by OTLP with HTTP, guard and database spans',
  () => {
    const AUD = 'urn:platform:otel-test';
    let receiver: Server;
    const spans: OtlpSpan[] = [];
    const waiters: Array<() => void> = [];
    let issuer: TestIssuer;
    let database: { url: string; drop: () => Promise<void> };
    let platform: PlatformProcess;
    let dataDir: string;

    beforeAll(async () => {
      // An OTLP/HTTP receiver (the collector's role): POST /v1/traces with ExportTraceServiceRequest as JSON.
      receiver = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          if (req.url === '/v1/traces') {
            const request = JSON.parse(body) as {
              resourceSpans: { scopeSpans: { scope: { name: string }; spans: Omit<OtlpSpan, 'scope'>[] }[] }[];
            };
            for (const resource of request.resourceSpans)
              for (const scoped of resource.scopeSpans)
                for (const span of scoped.spans) spans.push({ ...span, scope: scoped.scope.name });
            for (const wake of waiters.splice(0)) wake();
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        });
      });
      const receiverPort = await freePort();
      await new Promise<void>((resolve) => receiver.listen(receiverPort, '127.0.0.1', () => resolve()));
      issuer = await TestIssuer.start();
      issuer.addKey('k1');
      database = await createTestDatabase();
      dataDir = mkdtempSync(path.join(tmpdir(), 'otel-'));
      platform = await PlatformProcess.start({
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: '0',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'info',
        OIDC_ISSUER: issuer.issuer,
        OIDC_AUDIENCE: AUD,
        DATABASE_URL: database.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiverPort}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      });
    }, 120_000);

    afterAll(async () => {
      await platform?.stop('SIGTERM');
      await new Promise((resolve) => receiver?.close(resolve));
      await issuer?.close();
      await database?.drop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    /** Resolves once the receiver holds spans of `traceId` matching every predicate (bounded wait). */
    const spansOf = async (traceId: string, wanted: ((s: OtlpSpan) => boolean)[]): Promise<OtlpSpan[]> => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const mine = spans.filter((s) => s.traceId === traceId);
        if (wanted.every((w) => mine.some(w))) return mine;
        if (Date.now() > deadline) return mine;
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 1000).unref();
        });
      }
    };

    it('an authenticated read: the server span, the guard decision and the PostgreSQL query share the trace the audit record names', async () => {
      const token = issuer.sign({ aud: AUD, sub: 'otel-bob', tenant: 'acme', roles: ['billing-manager'] });
      const response = await fetch(`${platform.url}/billing/invoices`, {
        headers: { authorization: `Bearer ${token}`, 'x-request-id': 'otel-read-1' },
      });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      // Trace Context Level 2: the response names the trace and the platform's span.
      const [, traceId, spanId] =
        /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(response.headers.get('traceresponse') ?? '') ?? [];
      expect(traceId).toBeDefined();

      const isServer = (s: OtlpSpan) => s.kind === 2 && s.scope.includes('instrumentation-http');
      const isGuard = (s: OtlpSpan) => s.name === 'authz.decision';
      const isQuery = (s: OtlpSpan) => s.scope.includes('instrumentation-pg') && s.name.startsWith('pg.query');
      const mine = await spansOf(traceId, [isServer, isGuard, isQuery]);
      const server = mine.find(isServer);
      expect(server).toBeDefined();
      expect(server?.spanId).toBe(spanId);
      const guard = mine.find(isGuard);
      expect(guard?.parentSpanId).toBe(server?.spanId);
      expect(guard?.attributes).toEqual(
        expect.arrayContaining([
          { key: 'platform.decision', value: { stringValue: 'allow' } },
          { key: 'platform.reason', value: { stringValue: 'permission_granted' } },
        ]),
      );
      expect(mine.some(isQuery)).toBe(true);
      // Every span of the request is in the one trace: nothing of it started a trace of its own.
      expect(new Set(mine.map((s) => s.traceId))).toEqual(new Set([traceId]));
    });

    it("a caller's traceparent is continued: same trace id, the caller's span as the server span's parent", async () => {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const parent = '00f067aa0ba902b7';
      const token = issuer.sign({ aud: AUD, sub: 'otel-bob', tenant: 'acme', roles: ['billing-manager'] });
      const response = await fetch(`${platform.url}/billing/invoices`, {
        headers: { authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${parent}-01` },
      });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      expect(response.headers.get('traceresponse')).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      const mine = await spansOf(traceId, [(s) => s.kind === 2]);
      expect(mine.find((s) => s.kind === 2)?.parentSpanId).toBe(parent);
    });
  },
);
