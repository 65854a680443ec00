import { describe, expect, it } from 'vitest';
import { checkWebhookSignature, signWebhook } from './webhook-signature';

const SECRET = 'whsec-current-0123456789abcdef';
const PREVIOUS = 'whsec-previous-0123456789abcdef';
const NOW = 1_800_000_000;
const pretty = '{\n  "id": "evt_1",\n  "type": "payment.settled"\n}';
const header = (t: number, ...v1: string[]) => [`t=${t}`, ...v1.map((v) => `v1=${v}`)].join(',');

describe('webhook signatures (pitfall C28)', () => {
  it('(a) accepts a signature over the exact raw bytes; (b) refuses the same event re-serialized', () => {
    const signature = signWebhook(SECRET, NOW, pretty);
    expect(checkWebhookSignature(header(NOW, signature), pretty, [SECRET], NOW)).toBeUndefined();
    expect(checkWebhookSignature(header(NOW, signature), JSON.stringify(JSON.parse(pretty)), [SECRET], NOW)).toBe(
      'invalid_signature',
    );
  });

  it('(c, d) refuses a correct signature 600 s in the past or the future', () => {
    for (const t of [NOW - 600, NOW + 600]) {
      expect(checkWebhookSignature(header(t, signWebhook(SECRET, t, pretty)), pretty, [SECRET], NOW)).toBe(
        'timestamp_outside_tolerance',
      );
    }
    expect(
      checkWebhookSignature(header(NOW - 299, signWebhook(SECRET, NOW - 299, pretty)), pretty, [SECRET], NOW),
    ).toBeUndefined();
  });

  it('(f) answers malformed headers with a reason, never an exception', () => {
    expect(checkWebhookSignature(undefined, pretty, [SECRET], NOW)).toBe('missing_signature');
    expect(checkWebhookSignature(['a', 'b'], pretty, [SECRET], NOW)).toBe('missing_signature');
    expect(checkWebhookSignature('t=abc,v1=zz', pretty, [SECRET], NOW)).toBe('malformed_signature');
    expect(checkWebhookSignature(`t=${NOW}`, pretty, [SECRET], NOW)).toBe('malformed_signature');
    expect(checkWebhookSignature(`t=${NOW},v1=${'é'.repeat(64)}`, pretty, [SECRET], NOW)).toBe('malformed_signature');
    expect(checkWebhookSignature('garbage', pretty, [SECRET], NOW)).toBe('malformed_signature');
  });

  it('(g) accepts when any of several v1 entries matches, in either hex case', () => {
    const good = signWebhook(SECRET, NOW, pretty);
    expect(checkWebhookSignature(header(NOW, 'ab'.repeat(32), good), pretty, [SECRET], NOW)).toBeUndefined();
    expect(checkWebhookSignature(header(NOW, good.toUpperCase()), pretty, [SECRET], NOW)).toBeUndefined();
  });

  it('accepts the previous secret while it is still listed (rotation), and nothing signed with another', () => {
    expect(
      checkWebhookSignature(header(NOW, signWebhook(PREVIOUS, NOW, pretty)), pretty, [SECRET, PREVIOUS], NOW),
    ).toBeUndefined();
    expect(checkWebhookSignature(header(NOW, signWebhook(PREVIOUS, NOW, pretty)), pretty, [SECRET], NOW)).toBe(
      'invalid_signature',
    );
  });
});
