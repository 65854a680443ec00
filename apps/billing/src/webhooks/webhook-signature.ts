import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=...]`. */
export const WEBHOOK_SIGNATURE_HEADER = 'platform-signature';
/** Largest accepted difference between the signature's timestamp and now, in seconds. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/** Why a webhook signature was refused (the audit reason and the problem's `reason`). */
export type WebhookSignatureFailure =
  'missing_signature' | 'malformed_signature' | 'invalid_signature' | 'timestamp_outside_tolerance';

/** `v1` of a payload: hex HMAC-SHA256 with `secret` over `<t>.<raw body>`. */
export function signWebhook(secret: string, timestampSeconds: number, rawBody: string): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${rawBody}`).digest('hex');
}

/**
 * Checks a payment provider's webhook signature over the exact bytes received (pitfall C28): an
 * HMAC-SHA256 with any accepted secret (current and previous, for rotation) over `<t>.<raw body>`,
 * compared in constant time, any of several `v1` entries may match; then the timestamp must be
 * within `toleranceSeconds` of `nowSeconds` (both in seconds) either way, so a captured delivery
 * cannot be replayed later.
 *
 * @returns undefined when valid, else the failure reason. Never throws, whatever the header holds.
 */
export function checkWebhookSignature(
  header: string | string[] | undefined,
  rawBody: string,
  secrets: readonly string[],
  nowSeconds: number,
  toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS,
): WebhookSignatureFailure | undefined {
  if (typeof header !== 'string' || header.trim() === '') return 'missing_signature';
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    // Lowercase or uppercase hex, exactly 32 bytes; anything else is ignored.
    else if (key === 'v1' && /^[0-9a-fA-F]{64}$/.test(value)) signatures.push(Buffer.from(value, 'hex'));
  }
  if (timestamp === undefined || signatures.length === 0) return 'malformed_signature';
  const valid = secrets.some((secret) => {
    const expected = Buffer.from(signWebhook(secret, timestamp, rawBody), 'hex');
    return signatures.some((candidate) => timingSafeEqual(candidate, expected));
  });
  if (!valid) return 'invalid_signature';
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return 'timestamp_outside_tolerance';
  return undefined;
}
