/**
 * Security headers of every console response, set per route so that they hold whatever the
 * platform sets globally: a strict Content Security Policy (scripts and styles only from the
 * console's own files, no inline code, no eval; network calls only to the platform and the
 * identity provider), no framing, no MIME sniffing, and no Referer (the sign-in callback URL
 * carries an authorization code).
 *
 * @param issuer the identity provider's issuer URL: its origin is where the console redeems its code
 */
export function consoleSecurityHeaders(issuer: string): Record<string, string> {
  const idp = new URL(issuer).origin;
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${idp}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    'content-security-policy': csp,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cache-control': 'no-store',
  };
}
