import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { infoLine } from './info-line';
import { createRootLogger, registerSecretValue, unregisterSecretValue } from './logger';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl';

/** Whether the last {@link bothLines} call's `infoLine` handed its line to pino's `logger.info`. */
let builtByPino = false;

/** The line `logger.info(fields, msg)` writes and the line `infoLine` writes, for the same instant. */
function bothLines(fields: Record<string, unknown>, msg = 'request', level = 'info'): [string[], string[]] {
  const viaPino: string[] = [];
  const direct: string[] = [];
  createRootLogger(level, { write: (line: string) => void viaPino.push(line) }).info(fields, msg);
  const logger = createRootLogger(level, { write: (line: string) => void direct.push(line) });
  const info = vi.spyOn(logger, 'info');
  infoLine(logger, fields, msg);
  builtByPino = info.mock.calls.length > 0;
  return [direct, viaPino];
}

const requestLine = {
  requestId: '3f1c2a9e-1b2c-4d5e-8f90-123456789abc',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  method: 'GET',
  route: '/billing/invoices/:id',
  path: '/billing/invoices/inv-"quoted"\\back',
  app: 'billing',
  status: 200,
  durationMs: 1.23,
  decision: 'allow',
  reason: 'role_grants_permission',
  errorReason: undefined,
  outcome: 'success',
  subject: 'user-\u00e9\u2028\ud800-lone',
  principalType: 'user',
  clientId: 'web\u0001app',
  actors: ['agent-1'],
  dpopBound: true,
  tenant: 'x'.repeat(150),
  required: ['billing:invoice:read'],
  event: undefined,
  details: { rule: 'role', nested: { a: [1, null, 'b'] } },
};

describe('infoLine', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-12-02T07:00:00.042Z'));
  });
  afterEach(() => vi.useRealTimers());

  it("writes the bytes pino's logger.info writes: order, undefined fields left out, escapes, numbers", () => {
    const [direct, viaPino] = bothLines(requestLine);
    expect(direct).toEqual(viaPino);
    // Built directly, not handed to pino.
    expect(builtByPino).toBe(false);
    expect(direct).toHaveLength(1);
    expect(JSON.parse(direct[0])).toMatchObject({ level: 30, msg: 'request', service: 'platform', status: 200 });
    const odd = { n: Number.NaN, inf: Infinity, no: false, nothing: null, f: () => 1, s: Symbol('x'), arr: [] };
    expect(bothLines(odd, 'odd "msg"')[0]).toEqual(bothLines(odd, 'odd "msg"')[1]);
  });

  it('redacts as pino does: a credential under details, a top-level credential, an err field (all through pino)', () => {
    for (const fields of [
      { ...requestLine, details: { rule: 'x', token: 'opaque-1', password: 's3cr3t' } },
      { requestId: 'r', password: 's3cr3t' },
      { requestId: 'r', token: 42 },
      { requestId: 'r', err: new Error('boom') },
      { requestId: 'r', req: { headers: { authorization: 'Bearer x' } } },
    ]) {
      const [direct, viaPino] = bothLines(fields);
      expect(direct).toEqual(viaPino);
      for (const secret of ['opaque-1', 's3cr3t', 'Bearer x']) expect(direct[0]).not.toContain(secret);
    }
  });

  it('applies the line hook: JWT-shaped text and registered secrets are cut out', () => {
    registerSecretValue('declared-secret-value');
    try {
      const fields = { ...requestLine, path: `/a/${JWT}`, subject: 'declared-secret-value' };
      const [direct, viaPino] = bothLines(fields);
      expect(direct).toEqual(viaPino);
      expect(direct[0]).not.toContain(JWT);
      expect(direct[0]).not.toContain('declared-secret-value');
    } finally {
      unregisterSecretValue('declared-secret-value');
    }
  });

  it('writes nothing below the logger level, and values JSON cannot take go through pino', () => {
    expect(bothLines(requestLine, 'request', 'warn')).toEqual([[], []]);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    for (const fields of [{ big: 10n }, { details: cyclic }]) {
      const [direct, viaPino] = bothLines(fields);
      expect(direct).toEqual(viaPino);
    }
  });

  it('a logger it cannot reproduce (a mixin) is served by pino itself', () => {
    const viaPino: string[] = [];
    const direct: string[] = [];
    const options = { timestamp: false, mixin: () => ({ extra: 1 }) };
    pino(options, { write: (line: string) => void viaPino.push(line) }).info(requestLine, 'request');
    infoLine(pino(options, { write: (line: string) => void direct.push(line) }), requestLine, 'request');
    expect(direct).toEqual(viaPino);
    expect(direct[0]).toContain('"extra":1');
  });
});
