import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { LabelledCounter, LabelledHistogram } from './labelled-metrics';
import { clusterExposition, inClusterWorker, serveWorkerMetrics } from './cluster-metrics';

/** Latency buckets in seconds: 1 ms to 10 s. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One finished request, as the metrics see it. Labels are bounded: `route` is a template, never a raw path. */
export interface RequestObservation {
  app: string;
  /** Route template (`/billing/invoices/:id`), or `unmatched` for unknown paths. */
  route: string;
  method: string;
  status: number;
  /** In seconds. */
  durationSeconds: number;
  decision: 'allow' | 'deny' | null;
  reason: string | null;
  /** `user`, `service`, `agent` (acting for a person) or `anonymous` (no verified token). */
  principalType: 'user' | 'service' | 'agent' | 'anonymous';
  /** How the token was presented: `dpop` (bound, proof checked), `bearer`, or `none`. */
  tokenBinding: 'dpop' | 'bearer' | 'none';
  /** The problem's reason code of an error answer (`database_unavailable`, ...), if any. */
  errorReason?: string | null;
}

/**
 * Every metric the platform exports at `/metrics` (prom-client, Prometheus text format), in one
 * registry per platform instance (tests run several in one process). Request-path methods cache
 * the labelled children by key, so recording a request is a few Map lookups and increments.
 */
@Injectable()
export class PlatformMetrics {
  readonly registry = new Registry();
  // The request-path metrics: series held in the Maps below and incremented directly (no label
  // hashing per request); same names, labels and exposition as prom-client's own.
  private readonly requests = new LabelledCounter(
    'platform_http_requests_total',
    'HTTP requests answered, by app, route template, method and status',
    ['app', 'route', 'method', 'status'],
    this.registry,
  );
  private readonly latency = new LabelledHistogram(
    'platform_http_request_duration_seconds',
    'Time from arrival to the end of the response, in seconds, by app, route template, method and status',
    ['app', 'route', 'method', 'status'],
    LATENCY_BUCKETS,
    this.registry,
  );
  private readonly decisions = new LabelledCounter(
    'platform_authz_decisions_total',
    'Authorization decisions, by app, decision (allow/deny) and reason code',
    ['app', 'decision', 'reason'],
    this.registry,
  );
  private readonly principals = new LabelledCounter(
    'platform_requests_by_principal_total',
    'Requests answered, by app, principal type (user, service, agent, anonymous), token binding (dpop, bearer, none) and decision',
    ['app', 'principal_type', 'token_binding', 'decision'],
    this.registry,
  );
  private readonly tokenFailures = new LabelledCounter(
    'platform_token_failures_total',
    'Requests refused with 401 because of their access token (or its absence), by reason code',
    ['reason'],
    this.registry,
  );
  /** JWKS downloads, by cause (`startup`, `unknown_kid`, `expired`, ...) and outcome (`ok`/`error`). */
  readonly jwksFetches = new Counter({
    name: 'platform_jwks_fetches_total',
    help: 'JWKS downloads from the issuer, by cause and outcome',
    labelNames: ['cause', 'outcome'],
    registers: [this.registry],
  });
  /** Audit batches committed to the database (`source`: `queue` or `journal`). */
  readonly auditBatches = new Counter({
    name: 'platform_audit_batches_written_total',
    help: 'Audit batches committed to the database, by source (queue or journal replay)',
    labelNames: ['source'],
    registers: [this.registry],
  });
  /** Audit records committed to the database. */
  readonly auditRecords = new Counter({
    name: 'platform_audit_records_written_total',
    help: 'Audit records committed to the database',
    registers: [this.registry],
  });
  /** Failed audit batch writes (the batch is kept and journalled, never lost). */
  readonly auditWriteFailures = new Counter({
    name: 'platform_audit_write_failures_total',
    help: 'Audit batch writes that failed (the records go to the journal)',
    registers: [this.registry],
  });
  /** Records written to the local journal while the database could not take them. */
  readonly auditJournalSpills = new Counter({
    name: 'platform_audit_journal_spilled_records_total',
    help: 'Audit records written to the local journal file because the database could not take them',
    registers: [this.registry],
  });
  /** Records replayed from the journal into the database. */
  readonly auditJournalReplays = new Counter({
    name: 'platform_audit_journal_replayed_records_total',
    help: 'Audit records replayed from the local journal into the database',
    registers: [this.registry],
  });
  /** Records the database refused as data (set aside in `audit-rejected.ndjson`, never retried). Should stay 0. */
  readonly auditRejected = new Counter({
    name: 'platform_audit_records_rejected_total',
    help: 'Audit records the database refused as data; kept in audit-rejected.ndjson beside the journal',
    registers: [this.registry],
  });
  /** Records lost because every bound was hit (queue full and journal unwritable). Should stay 0. */
  readonly auditDropped = new Counter({
    name: 'platform_audit_records_dropped_total',
    help: 'Audit records dropped because the queue was full and the journal could not be written',
    registers: [this.registry],
  });
  /**
   * Responses replaced by 503 `audit_unavailable`: their audit record was not durable within
   * 2 x `AUDIT_WRITE_TIMEOUT_MS` (neither the database nor the journal took it). Should stay 0.
   */
  readonly auditUnavailable = new Counter({
    name: 'platform_audit_unavailable_responses_total',
    help: 'Responses answered 503 audit_unavailable because their audit record could not be made durable in time',
    registers: [this.registry],
  });
  /** Secret rotations taken into use, by secret name. */
  readonly secretRotations = new Counter({
    name: 'platform_secret_rotations_total',
    help: 'Secret values changed at their source and taken into use, by secret',
    labelNames: ['secret'],
    registers: [this.registry],
  });
  /** Secret changes refused (the new value failed validation; the current one stays). */
  readonly secretErrors = new Counter({
    name: 'platform_secret_errors_total',
    help: 'Secret changes refused because the new value is invalid, by secret',
    labelNames: ['secret'],
    registers: [this.registry],
  });
  /** Shared-state operations answered from this instance's memory because Redis was unreachable. */
  readonly sharedStateFallbacks = new Counter({
    name: 'platform_shared_state_fallbacks_total',
    help: "Rate-limit and DPoP replay checks answered from this instance's memory because Redis was unreachable, by operation",
    labelNames: ['operation'],
    registers: [this.registry],
  });
  /** Requests refused with 429, by app and principal type. */
  readonly rateLimited = new Counter({
    name: 'platform_rate_limited_total',
    help: 'Requests refused with 429 because their principal exhausted its budget, by app and principal type',
    labelNames: ['app', 'principal_type'],
    registers: [this.registry],
  });
  private readonly databaseUnavailable = new Counter({
    name: 'platform_database_unavailable_total',
    help: 'Requests answered 503 database_unavailable (the database was unreachable, hung or shutting down), by app',
    labelNames: ['app'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // In cluster mode this worker's metrics are one part of every scrape (see clusterExposition).
    serveWorkerMetrics(this.registry);
  }

  /**
   * Reports the audit queue's depth and the journal's size (records) at each scrape.
   * @param read called at scrape time
   */
  trackAuditQueue(read: () => { queued: number; journalled: number }): void {
    new Gauge({
      name: 'platform_audit_queue_depth',
      help: 'Audit records waiting in memory to be written',
      registers: [this.registry],
      collect() {
        this.set(read().queued);
      },
    });
    new Gauge({
      name: 'platform_audit_journal_depth',
      help: 'Audit records in the local journal waiting for replay',
      registers: [this.registry],
      collect() {
        this.set(read().journalled);
      },
    });
  }

  /**
   * Reports whether Redis is reachable (1/0) at each scrape; no series without `REDIS_URL`.
   * @param read called at scrape time; undefined when Redis is not configured
   */
  trackRedis(read: () => number | undefined): void {
    if (read() === undefined) return;
    new Gauge({
      name: 'platform_redis_up',
      help: 'Whether the Redis shared by the instances answers (1) or not (0)',
      registers: [this.registry],
      collect() {
        this.set(read() ?? 0);
      },
    });
  }

  /** Counts one answered request, its latency, its decision and (for a 401) its token failure. */
  observeRequest(o: RequestObservation): void {
    const status = String(o.status);
    this.requests.child(o.app, o.route, o.method, status).value++;
    this.latency.observe(this.latency.child(o.app, o.route, o.method, status), o.durationSeconds);
    if (o.errorReason === 'database_unavailable') this.databaseUnavailable.labels(o.app).inc();
    this.principals.child(o.app, o.principalType, o.tokenBinding, o.decision ?? 'none').value++;
    if (o.decision) {
      const reason = o.reason ?? 'unknown';
      this.decisions.child(o.app, o.decision, reason).value++;
      if (o.decision === 'deny' && o.status === 401) this.tokenFailures.child(reason).value++;
    }
  }

  /** The Prometheus text exposition of every metric: of every worker together in cluster mode (`WORKERS` > 1). */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return {
      contentType: this.registry.contentType,
      body: inClusterWorker() ? await clusterExposition() : await this.registry.metrics(),
    };
  }
}
