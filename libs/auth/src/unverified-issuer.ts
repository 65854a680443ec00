import { AuthFailure } from './auth-failure';

const ISS_MEMBER = '"iss"';
const QUOTE = 0x22;
const COLON = 0x3a;
const BACKSLASH = '\\';

/** JSON insignificant whitespace (RFC 8259 section 2): space, tab, line feed, carriage return. */
const isJsonSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/**
 * The `iss` claim of a compact JWS's payload, read without verifying anything: only to choose
 * which issuer's keys and settings verify the token. jsonwebtoken parses the payload again to
 * verify it, so a plain payload is not parsed here too: an object (`{...}`) without any
 * backslash (so without escapes, which could spell `iss` another way) naming `"iss"` exactly once,
 * as a member whose value is a string, gives that string. Anything else is parsed as JSON.
 *
 * The scan may read an `iss` JSON.parse would not (a nested member when the payload has no
 * top-level one, or a payload that is not valid JSON inside its braces): the caller must hold the
 * verified `iss` to the issuer this one chose (JwtBearerStrategy.validate does), so a wrong
 * choice only refuses the token.
 *
 * @returns the claim's value: a string, any other JSON value, or undefined when absent
 * @throws AuthFailure `malformed_token` when the payload is parsed and is not base64url JSON (or is JSON null)
 */
export function unverifiedIssuer(token: string): unknown {
  const first = token.indexOf('.');
  if (first === -1) throw new AuthFailure('malformed_token');
  const second = token.indexOf('.', first + 1);
  const payload = Buffer.from(token.slice(first + 1, second === -1 ? undefined : second), 'base64url').toString('utf8');
  const scanned = scanIssuer(payload);
  if (scanned !== undefined) return scanned;
  try {
    // A JSON null payload throws here too: malformed, as before the scan.
    return (JSON.parse(payload) as { iss?: unknown }).iss;
  } catch {
    throw new AuthFailure('malformed_token');
  }
}

/** The string value of the one `"iss"` member of a plain payload (see {@link unverifiedIssuer}); undefined: parse it. */
function scanIssuer(payload: string): string | undefined {
  if (payload.charCodeAt(0) !== 0x7b || payload.charCodeAt(payload.length - 1) !== 0x7d) return undefined;
  const at = payload.indexOf(ISS_MEMBER);
  if (at === -1 || payload.indexOf(ISS_MEMBER, at + ISS_MEMBER.length) !== -1 || payload.includes(BACKSLASH))
    return undefined;
  let i = at + ISS_MEMBER.length;
  while (isJsonSpace(payload.charCodeAt(i))) i++;
  if (payload.charCodeAt(i) !== COLON) return undefined;
  i++;
  while (isJsonSpace(payload.charCodeAt(i))) i++;
  if (payload.charCodeAt(i) !== QUOTE) return undefined;
  const end = payload.indexOf('"', i + 1);
  return end === -1 ? undefined : payload.slice(i + 1, end);
}
