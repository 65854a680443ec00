// `bare+db`: bare Fastify doing the platform's invoice read with `pg` (the same SQL as the
// platform's prepared statement, the same row, the same pool size), no authentication, no audit,
// no logging: what the read costs without the identity layer. Benchmark only.
import Fastify from 'fastify';
import pg from 'pg';
import { monitorEventLoopDelay } from 'node:perf_hooks';

// drizzle's SQL for InvoicesRepository.findWithLines, verbatim.
const SQL =
  'select "billing_invoices"."id", "billing_invoices"."tenant", "billing_invoices"."customer", "billing_invoices"."currency", "billing_invoices"."total_minor", "billing_invoices"."status", "billing_invoices"."created_by", "billing_invoices"."created_at", "billing_invoice_lines"."id", "billing_invoice_lines"."invoice_id", "billing_invoice_lines"."position", "billing_invoice_lines"."description", "billing_invoice_lines"."quantity", "billing_invoice_lines"."unit_amount_minor", "billing_invoice_lines"."amount_minor" from "billing_invoices" left join "billing_invoice_lines" on "billing_invoice_lines"."invoice_id" = "billing_invoices"."id" where ("billing_invoices"."tenant" = $1 and "billing_invoices"."id" = $2) order by "billing_invoice_lines"."position" asc';
const TENANT = process.env.TENANT ?? 'acme';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const app = Fastify({ logger: false });
app.get('/billing/invoices/:id', async (request, reply) => {
  // Array rows: the columns of both tables share names (id), as drizzle reads them.
  const { rows } = await pool.query({
    name: 'bench_find_invoice_with_lines',
    text: SQL,
    values: [TENANT, request.params.id],
    rowMode: 'array',
  });
  if (rows.length === 0) return reply.code(404).send({ status: 404 });
  const [id, , customer, currency, totalMinor, status, createdBy, createdAt] = rows[0];
  return {
    id,
    customer,
    currency,
    total: totalMinor,
    status,
    createdBy,
    createdAt,
    lines: rows
      .filter((r) => r[8] !== null)
      .map((r) => ({ description: r[11], quantity: r[12], unitAmount: r[13], amount: r[14] })),
  };
});
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
process.on('message', (m) => {
  if (m !== 'eventloop') return;
  process.send({ eventloopP99Ms: delay.percentile(99) / 1e6 });
  delay.reset();
});
process.on(
  'SIGTERM',
  () =>
    void app
      .close()
      .then(() => pool.end())
      .then(() => process.exit(0)),
);
process.send?.({ ready: app.server.address().port });
