/** Refusals whose audit record carries the evidence (expected vs presented values). */
const EVIDENCE_REASONS = new Set([
  'aud_mismatch',
  'iss_mismatch',
  'expired',
  'not_yet_valid',
  'iat_in_future',
  'lifetime_exceeded',
  'missing_exp',
]);

/** What the platform expects of a token, for the evidence of a refusal. */
export interface ExpectedToken {
  issuer?: string;
  audiences: readonly string[];
}

/**
 * Safe facts for the audit record of a refused token (pitfalls C07, C22): the expected and the
 * presented issuer or audience, the server time (epoch seconds) and the token's time claims. Read
 * from the unverified payload, as numbers and short strings only; never the token itself.
 *
 * @returns an empty object for other reasons or an unreadable payload
 */
export function tokenEvidence(
  reason: string,
  token: string | undefined,
  expected: ExpectedToken,
  nowMs = Date.now(),
): Record<string, unknown> {
  if (!token || !EVIDENCE_REASONS.has(reason)) return {};
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    return {};
  }
  const text = (value: unknown) => (typeof value === 'string' ? value.slice(0, 200) : undefined);
  const texts = (value: unknown) => (Array.isArray(value) ? value.slice(0, 10).map(text).filter(Boolean) : text(value));
  const num = (value: unknown) => (typeof value === 'number' ? value : undefined);
  if (reason === 'aud_mismatch')
    return { expectedAudiences: expected.audiences, tokenAudience: texts(claims.aud) ?? null };
  if (reason === 'iss_mismatch') return { expectedIssuer: expected.issuer, tokenIssuer: text(claims.iss) ?? null };
  return { serverTime: Math.floor(nowMs / 1000), exp: num(claims.exp), nbf: num(claims.nbf), iat: num(claims.iat) };
}
