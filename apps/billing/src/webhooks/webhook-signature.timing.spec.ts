import * as crypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { checkWebhookSignature, signWebhook } from './webhook-signature';

// vi.mock is hoisted above the imports. A pass-through spy on crypto.timingSafeEqual: the check must decide through it (a mutation run
// found that `===` on the hex strings left every other test green).
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const SECRET = 'whsec-current-0123456789abcdef';
const OTHER = 'whsec-previous-0123456789abcdef';
const NOW = 1_800_000_000;
const BODY = '{"id":"evt_1"}';

describe('webhook signatures are compared in constant time', () => {
  const spy = vi.mocked(crypto.timingSafeEqual);

  it('a valid signature is accepted by crypto.timingSafeEqual returning true, on equal-length buffers', () => {
    spy.mockClear();
    expect(checkWebhookSignature(`t=${NOW},v1=${signWebhook(SECRET, NOW, BODY)}`, BODY, [SECRET], NOW)).toBeUndefined();
    expect(spy).toHaveBeenCalled();
    expect(spy.mock.results.some((r) => r.value === true)).toBe(true);
    for (const [a, b] of spy.mock.calls) expect((a as Buffer).length).toBe((b as Buffer).length);
  });

  it('every candidate against every secret goes through timingSafeEqual before a refusal', () => {
    spy.mockClear();
    const header = `t=${NOW},v1=${'ab'.repeat(32)},v1=${signWebhook('wrong', NOW, BODY)}`;
    expect(checkWebhookSignature(header, BODY, [SECRET, OTHER], NOW)).toBe('invalid_signature');
    expect(spy).toHaveBeenCalledTimes(4);
    expect(spy.mock.results.every((r) => r.value === false)).toBe(true);
  });
});
