import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlatform } from '../support/test-platform';

/**
 * Property-based fuzzing of EVERY route of the route inventory (`GET /platform/routes`), issue 13
 * part 10: hostile path parameters, queries, headers, bodies and tokens (seeded users' and machines'
 * valid tokens, garbage, tampered). For each answer: no 5xx, no stack trace or SQL text in the body,
 * and exactly one access record in the audit trail.
 *
 * Bounded and reproducible: a fixed seed (FUZZ_SEED overrides it) and a fixed number of runs
 * (FUZZ_RUNS); on failure fast-check prints the seed and the shrunk counterexample to replay.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const RUNS = Number(process.env.FUZZ_RUNS ?? 800);

interface RouteView {
  method: string;
  path: string;
  public: boolean;
}

interface FuzzRequest {
  route: RouteView;
  params: string[];
  query: [string, string][];
  token: number;
  body: { kind: 'json'; value: unknown } | { kind: 'raw'; text: string; type: string } | { kind: 'none' };
  headers: Record<string, string>;
}

/** Field names the DTOs use, so that hostile values reach the validators and handlers, not just the whitelist. */
const FIELD_NAMES = [
  'customer',
  'currency',
  'lines',
  'description',
  'quantity',
  'unitAmount',
  'events',
  'name',
  'timestamp',
  'properties',
  'userId',
  'amount',
  'planId',
  'code',
  'interval',
  'scopes',
  'clientId',
  'role',
  'id',
  'type',
  'data',
  'paymentId',
  '__proto__',
  'constructor',
];
const QUERY_NAMES = [
  'limit',
  'cursor',
  'from',
  'to',
  'name',
  'interval',
  'subject',
  'permission',
  'tenant',
  'roles',
  'scopes',
  'actor',
  'type',
  'kind',
  'decision',
  'client',
  'app',
  'status',
  'requestId',
  'traceId',
  'event',
];

/** Strings a hostile client sends: control characters, lone surrogates, out-of-range dates, injection text, huge. */
const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udfffy',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:60Z',
    '2026-02-30T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    "' OR 1=1 --",
    '"; DROP TABLE invoices; --',
    '../../etc/passwd',
    '%00',
    '%',
    '__proto__',
    'constructor',
    'EUR',
    'eur',
    'null',
    '-1',
    '1e309',
    '00000000-0000-4000-8000-000000000000',
    'MjAyNi0wMS0wMVQwMDowMDowMC4wMDBafHg',
    'billing:invoices:read',
    'admin',
    '😀',
    '\t\r\n',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 10 }).map((s) => s.repeat(100)),
);

const hostileScalar: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.constantFrom(0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, true, false, null),
  fc.integer(),
);

/** JSON values shaped like the DTOs (known keys, nested arrays and objects) with hostile leaves. */
const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, hostileScalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(fc.oneof(fc.constantFrom(...FIELD_NAMES), hostileString), tie('value'), { maxKeys: 5 }),
})).value;

/** Raw bodies JSON.stringify cannot make: broken JSON, 3,000-deep nesting, other content types. */
const rawBody = fc.oneof(
  fc.constantFrom(
    { text: '{', type: 'application/json' },
    { text: '', type: 'application/json' },
    { text: '['.repeat(3000) + ']'.repeat(3000), type: 'application/json' },
    { text: '{"a":'.repeat(3000) + '1' + '}'.repeat(3000), type: 'application/json' },
    { text: '{"__proto__":{"admin":true}}', type: 'application/json' },
    { text: '{"constructor":{"prototype":{"x":1}}}', type: 'application/json' },
    { text: '{"customer":"\\ud800","lines":[[]],"events":[[]]}', type: 'application/json' },
    { text: 'customer=x', type: 'application/x-www-form-urlencoded' },
    { text: '<x/>', type: 'application/xml' },
    { text: '{}', type: 'application/json; charset=utf-16' },
  ),
  fc.string({ unit: 'binary', maxLength: 60 }).map((text) => ({ text, type: 'application/json' })),
);

/** Header values must be ByteStrings for fetch: visible latin-1, hostile in content only. */
const headerValue = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'x'.repeat(300),
    '00-00000000000000000000000000000000-0000000000000000-00',
    'ff-' + 'f'.repeat(50),
    'Bearer',
    'DPoP x.y.z',
    '\u00ff\u00fe',
  ),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
);

/** Percent-encodes a value; a lone surrogate has no UTF-8, so it is sent as the bytes a client would (UTF-8 of U+D800). */
function encodeSegment(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80';
  }
}

/** Path segments: encoded hostile strings, plus raw percent sequences a client can send. */
const pathSegment = fc.oneof(
  hostileString.map(encodeSegment),
  fc.constantFrom(
    '%00',
    '%ED%A0%80',
    '%C0%AF',
    '..',
    '.',
    '%2F',
    'a%00b',
    '00000000-0000-4000-8000-000000000000',
    'billing-manager',
  ),
);

/** A JSON Schema of the OpenAPI document (the parts used here). */
interface Schema {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minimum?: number;
  maximum?: number;
  additionalProperties?: unknown;
}

/** Values that pass each field's own validation, so that one hostile field among valid ones reaches deep. */
const VALID_BY_NAME: Record<string, unknown> = {
  customer: 'Wayne Enterprises',
  currency: 'EUR',
  description: 'Seats',
  timestamp: '2026-11-30T10:00:00Z',
  from: '2026-11-01T00:00:00Z',
  to: '2026-12-01T00:00:00Z',
  name: 'signup',
  scopes: 'analytics:events:write',
  role: 'analyst',
  planId: '00000000-0000-4000-8000-000000000000',
  paymentId: '00000000-0000-4000-8000-000000000000',
  code: 'fuzz-plan',
  id: 'evt_fuzz',
  subject: 'carol',
  permission: 'billing:invoices:read',
  userId: 'u1',
  clientId: 'ingest-bot',
  tenant: 'acme',
  roles: 'analyst',
  actor: 'assistant-bot',
};

/**
 * Values shaped by an operation's schema (from `/docs/openapi.json`): mostly valid (4 in 5), else
 * hostile, at every leaf; containers sometimes take the wrong shape (`[[]]`, an array for an object).
 */
function fromSchema(
  schema: Schema | undefined,
  components: Record<string, Schema>,
  key = '',
  depth = 0,
): fc.Arbitrary<unknown> {
  const resolved = schema?.$ref ? components[schema.$ref.split('/').pop() as string] : schema;
  if (!resolved || depth > 4) return hostileScalar;
  const mostly = (valid: fc.Arbitrary<unknown>) =>
    fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: hostileScalar });
  if (resolved.enum) return mostly(fc.constantFrom(...resolved.enum));
  if (resolved.type === 'object' && resolved.properties) {
    const fields = Object.fromEntries(
      Object.entries(resolved.properties).map(([name, child]) => [
        name,
        fromSchema(child, components, name, depth + 1),
      ]),
    );
    return fc.oneof(
      { weight: 6, arbitrary: fc.record(fields, { requiredKeys: resolved.required ?? [] }) },
      { weight: 1, arbitrary: fc.constantFrom([], [[]], 'x') },
    );
  }
  if (resolved.type === 'object')
    return fc.oneof(fc.dictionary(hostileString, hostileScalar, { maxKeys: 3 }), hostileJson);
  if (resolved.type === 'array') {
    return fc.oneof(
      {
        weight: 6,
        arbitrary: fc.array(fromSchema(resolved.items, components, key, depth + 1), { minLength: 1, maxLength: 3 }),
      },
      { weight: 1, arbitrary: fc.constantFrom([[]], [['x']], {}) },
    );
  }
  if (resolved.type === 'integer' || resolved.type === 'number')
    return mostly(fc.integer({ min: resolved.minimum ?? 1, max: Math.min(resolved.maximum ?? 1000, 1000) }));
  return mostly(fc.constant(VALID_BY_NAME[key] ?? 'fuzz'));
}

describe('fuzzing every route of the inventory', () => {
  let platform: TestPlatform;
  let routes: RouteView[] = [];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the served OpenAPI document, walked by path and method names
  let openapi: any;
  const passingTokens = new Map<RouteView, number[]>();
  const tokens: (string | undefined)[] = [undefined];
  const answered: string[] = [];

  beforeAll(async () => {
    platform = await TestPlatform.start();
    const valid: string[] = [];
    for (const user of ['alice', 'bob', 'carol', 'dave', 'olivia']) valid.push(await platform.userToken(user));
    for (const client of ['ingest-bot', 'metrics-scraper']) valid.push(await platform.clientToken(client));
    valid.push(await platform.delegatedToken('carol', 'assistant-bot'));
    const [header, payload, signature] = valid[1].split('.');
    // Tampered: a flipped signature character; bob's payload with alice's signature; roles raised, signature kept.
    const raised = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), roles: ['admin'] }),
    ).toString('base64url');
    tokens.push(
      ...valid,
      `${header}.${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`,
      `${header}.${payload}.${valid[0].split('.')[2]}`,
      `${header}.${raised}.${signature}`,
    );
    tokens.push('garbage', 'a.b.c', '', 'x'.repeat(5000), `${header}..`, `${header}.${payload}`);
    const listed = await platform.request('GET', '/platform/routes', { token: valid[4] });
    expect(listed.status).toBe(200);
    routes = listed.body.items as RouteView[];
    openapi = (await platform.request('GET', '/docs/openapi.json')).body;
    // Which seeded tokens the policy lets through on each route (probed with an empty request):
    // runs favour them, so that hostile input reaches validation and handlers, not only the guard.
    for (const route of routes) {
      const path = route.path.replace(/:[A-Za-z]+/g, '00000000-0000-4000-8000-000000000000');
      const passing: number[] = [];
      for (const token of valid) {
        const probe = await fetch(`${platform.url}${path}`, {
          method: route.method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(route.method !== 'GET' && { 'content-type': 'application/json' }),
          },
          body: route.method === 'GET' ? undefined : '{}',
        });
        await probe.arrayBuffer();
        answered.push(probe.headers.get('x-request-id') as string);
        if (probe.status !== 401 && probe.status !== 403) passing.push(tokens.indexOf(token));
      }
      passingTokens.set(route, passing);
    }
  });
  afterAll(() => platform?.close());

  it('walks every route (the inventory is not empty and each method is a real HTTP method)', () => {
    expect(routes.length).toBeGreaterThan(30);
    for (const route of routes) expect(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).toContain(route.method);
  });

  /** Sends one fuzzed request and checks the answer; returns a description on failure. */
  async function send(request: FuzzRequest): Promise<void> {
    let index = 0;
    const path = request.route.path.replace(
      /:[A-Za-z]+/g,
      () => request.params[index++ % request.params.length] ?? 'x',
    );
    const query = request.query.map(([k, v]) => `${encodeURIComponent(k)}=${v}`).join('&');
    const headers: Record<string, string> = { ...request.headers };
    const token = tokens[request.token % tokens.length];
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (request.body.kind === 'json' && request.route.method !== 'GET') {
      body = JSON.stringify(request.body.value) ?? 'null';
      headers['content-type'] = 'application/json';
    } else if (request.body.kind === 'raw' && request.route.method !== 'GET') {
      body = request.body.text;
      headers['content-type'] = request.body.type;
    }
    const url = `${platform.url}${path}${query ? `?${query}` : ''}`;
    const response = await fetch(url, { method: request.route.method, headers, body });
    const text = await response.text();
    const what = `${request.route.method} ${url.slice(0, 300)} -> ${response.status} ${text.slice(0, 300)}`;
    expect(response.status, what).toBeLessThan(500);
    expect(text, what).not.toMatch(
      /\n\s+at |node_modules|\.ts:\d+|\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b|syntax error at|violates .* constraint|relation "|invalid byte sequence/,
    );
    const requestId = response.headers.get('x-request-id');
    // Node's HTTP parser refuses a request head over 16 KiB (431) before any request exists:
    // nothing was answered by the platform, so there is nothing to audit.
    if (response.status === 431 && requestId === null) return;
    expect(requestId, what).toBeTruthy();
    answered.push(requestId as string);
    // Queued as soon as the response closed (no polling): one access record for this answer.
    await platform.auditOf(requestId as string);
  }

  it(
    `no 5xx, no stack or SQL in any body, one audit record per answer (seed ${SEED}, about ${RUNS} runs; FUZZ_SEED and FUZZ_RUNS override)`,
    { timeout: 180_000 },
    async () => {
      const components: Record<string, Schema> = openapi.components?.schemas ?? {};
      const requestFor = (route: RouteView): fc.Arbitrary<FuzzRequest> => {
        const operation =
          openapi.paths?.[route.path.replace(/:([A-Za-z]+)/g, '{$1}')]?.[route.method.toLowerCase()] ?? {};
        const bodySchema: Schema | undefined = operation.requestBody?.content?.['application/json']?.schema;
        const queryParams: { name: string; schema?: Schema }[] = (operation.parameters ?? []).filter(
          (p: { in: string }) => p.in === 'query',
        );
        // Query values as the schema wants them (encoded), or hostile; plus names no DTO declares.
        const queryValue = (name: string, schema?: Schema) =>
          fc.oneof(
            fromSchema(schema, components, name).map((v) => encodeSegment(String(v))),
            pathSegment,
          );
        const query = fc.oneof(
          queryParams.length
            ? fc
                .tuple(
                  ...queryParams.map((p) =>
                    fc.option(
                      queryValue(p.name, p.schema).map((v) => [p.name, v] as [string, string]),
                      { nil: undefined },
                    ),
                  ),
                )
                .map((pairs) => pairs.filter((p): p is [string, string] => p !== undefined))
            : fc.constant([] as [string, string][]),
          fc.array(
            fc.tuple(
              fc.constantFrom(...QUERY_NAMES),
              fc.oneof(pathSegment, fc.constantFrom('0', '201', '1', 'hour', 'day', 'deny', 'access')),
            ),
            { maxLength: 4 },
          ),
        );
        const passing = passingTokens.get(route) ?? [];
        return fc.record({
          route: fc.constant(route),
          params: fc.array(fc.oneof(pathSegment, fc.constant('00000000-0000-4000-8000-000000000000')), {
            minLength: 1,
            maxLength: 3,
          }),
          query,
          token: passing.length
            ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...passing) }, { weight: 1, arbitrary: fc.nat() })
            : fc.nat(),
          body: fc.oneof(
            {
              weight: bodySchema ? 6 : 1,
              arbitrary: fromSchema(bodySchema, components).map((value) => ({ kind: 'json' as const, value })),
            },
            { weight: 1, arbitrary: hostileJson.map((value) => ({ kind: 'json' as const, value })) },
            { weight: 1, arbitrary: rawBody.map((raw) => ({ kind: 'raw' as const, ...raw })) },
            { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
          ),
          headers: fc.dictionary(
            fc.constantFrom(
              'idempotency-key',
              'traceparent',
              'tracestate',
              'dpop',
              'accept',
              'origin',
              'x-forwarded-for',
              'platform-signature',
            ),
            headerValue,
            { maxKeys: 3 },
          ),
        });
      };
      // Every route gets its share of the runs (a seed per route, printed by fast-check on failure).
      const perRoute = Math.max(1, Math.ceil(RUNS / routes.length));
      for (const [i, route] of routes.entries()) {
        await fc.assert(fc.asyncProperty(requestFor(route), send), {
          seed: SEED + i,
          numRuns: perRoute,
          endOnFailure: true,
        });
      }
      expect(answered.length).toBeGreaterThanOrEqual(perRoute * routes.length);
      // Exactly one access record per answered request, once everything queued is written.
      await platform.flushAudit();
      const counts = new Map<string, number>();
      for (const row of platform.audit)
        if (row.kind === 'access') counts.set(row.requestId, (counts.get(row.requestId) ?? 0) + 1);
      const wrong = answered.filter((id) => counts.get(id) !== 1);
      expect(wrong, `request ids without exactly one access record (seed ${SEED})`).toEqual([]);
    },
  );
});
