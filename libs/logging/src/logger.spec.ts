import { describe, expect, it, vi } from 'vitest';
import { createRootLogger, isoTime, registerSecretValue, scrubLogLine, unregisterSecretValue } from './logger';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl';

describe('root logger redaction', () => {
  it('redacts credentials by name and anything JWT-shaped anywhere in the line', () => {
    const lines: string[] = [];
    const logger = createRootLogger('info', { write: (line: string) => void lines.push(line) });
    logger.info(
      {
        password: 's3cr3t',
        token: 'opaque-token-1',
        body: { client_secret: 'k-123', refresh_token: 'rt-9' },
        req: { headers: { authorization: `Bearer ${JWT}`, cookie: 'sid=1', dpop: 'proof', 'set-cookie': 'a=b' } },
        err: { message: `upstream said ${JWT}` },
      },
      `token in the message ${JWT}`,
    );
    const line = lines.join('');
    for (const secret of ['s3cr3t', 'opaque-token-1', 'k-123', 'rt-9', JWT, 'sid=1', 'proof', 'a=b'])
      expect(line).not.toContain(secret);
    expect(JSON.parse(line)).toMatchObject({
      password: '[Redacted]',
      body: { client_secret: '[Redacted]' },
      req: { headers: { authorization: '[Redacted]' } },
    });
    expect(line).toContain('[Redacted JWT]');
  });

  it('leaves lines without a token untouched', () => {
    const line = '{"msg":"request","path":"/billing/invoices"}\n';
    expect(scrubLogLine(line)).toBe(line);
  });
});

describe('secret values in log lines', () => {
  it('cuts every registered secret value out of any line, also in its JSON-escaped form', () => {
    const lines: string[] = [];
    const logger = createRootLogger('info', { write: (line: string) => void lines.push(line) });
    registerSecretValue('p@ss"word-rotated-42');
    registerSecretValue('plain-secret-value-7');
    logger.error({ err: { message: 'connection to postgres://app:p@ss"word-rotated-42@db failed' } }, 'database down');
    logger.info({ note: 'the value is plain-secret-value-7' }, 'oops');
    expect(lines.join('')).not.toContain('word-rotated-42');
    expect(lines.join('')).not.toContain('plain-secret-value-7');
    expect(lines.join('')).toContain('[Redacted secret]');
    // A value no longer in use is forgotten.
    unregisterSecretValue('plain-secret-value-7');
    expect(scrubLogLine('plain-secret-value-7')).toBe('plain-secret-value-7');
  });
});

describe('isoTime', () => {
  it("formats the time as pino's isoTime does, also across seconds", () => {
    vi.useFakeTimers();
    for (const at of [
      Date.UTC(2026, 11, 2, 4, 27, 0, 5),
      Date.UTC(2026, 11, 2, 4, 27, 0, 45),
      Date.UTC(2026, 11, 2, 4, 27, 1, 999),
    ]) {
      vi.setSystemTime(at);
      expect(isoTime()).toBe(`,"time":"${new Date(at).toISOString()}"`);
    }
    vi.useRealTimers();
    const now = isoTime();
    expect(Date.parse(now.slice(9, -1))).toBeLessThanOrEqual(Date.now());
  });
});
