import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import type { FastifyError, FastifyInstance } from 'fastify';
import helmet from 'helmet';
import { ProblemException } from './problem.exception';

/** Options of {@link registerSecurityHeaders}. */
export interface SecurityHeadersOptions {
  /** The API's public origin (`PUBLIC_ORIGIN`); an `https:` one turns HSTS on for every response. */
  publicOrigin?: string;
  /** Exact browser origins allowed to call across origins (`CORS_ALLOWED_ORIGINS`); empty: none. */
  corsAllowedOrigins: readonly string[];
  /** Path prefix of Swagger UI (default `/docs`): the only HTML the platform serves. */
  docsPrefix?: string;
  /**
   * Origins the docs page may also connect to (its CSP `connect-src`): the development provider's,
   * whose token endpoint the page calls when it signs in (authorization code + PKCE).
   */
  docsConnectSources?: readonly string[];
}

/**
 * Where Swagger UI opened at `/docs` sends its sign-in popup back (one level above the page); the
 * platform forwards it to `/docs/oauth2-redirect.html`. It gets the docs page's headers: with the
 * API's Cross-Origin-Opener-Policy the popup would lose its link to the page that opened it.
 */
export const DOCS_OAUTH_REDIRECT_PATH = '/oauth2-redirect.html';

/** One year, with subdomains (RFC 6797): what browsers' preload lists ask for. */
export const HSTS_VALUE = 'max-age=31536000; includeSubDomains';
/** JSON responses load nothing and may not be framed (OWASP REST Security Cheat Sheet). */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/** {@link DOCS_CSP} with `extraConnectSources` (origins) added to `connect-src`. */
export function docsCsp(extraConnectSources: readonly string[]): string {
  return (
    `default-src 'self'; base-uri 'self'; connect-src ${["'self'", ...extraConnectSources].join(' ')}; font-src 'self' data:; form-action 'self'; frame-ancestors 'none'; ` +
    "img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'unsafe-inline'"
  );
}
/**
 * Swagger UI: its scripts, styles and the OpenAPI document come from this origin (Nest serves
 * them as files: no inline script), inline styles are its own, images may be data: URLs; never
 * framed (clickjacking), no plugins.
 */
export const DOCS_CSP = docsCsp([]);

/**
 * The headers of an answer Fastify sends before any hook or plugin runs (a malformed URL):
 * the same nosniff, framing, CSP, caching and HSTS policy as every other answer.
 */
export function baselineSecurityHeaders(publicOrigin?: string): Record<string, string> {
  return {
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'content-security-policy': API_CSP,
    'cache-control': 'no-store',
    ...(publicOrigin?.startsWith('https:') && { 'strict-transport-security': HSTS_VALUE }),
  };
}

/** Request headers a browser client may send across origins (RFC 6750, RFC 9449, idempotency, W3C trace context). */
const CORS_ALLOWED_HEADERS = [
  'Authorization',
  'DPoP',
  'Content-Type',
  'Idempotency-Key',
  'traceparent',
  'tracestate',
  'X-Request-Id',
];
/** Response headers a browser client may read across origins. */
const CORS_EXPOSED_HEADERS = [
  'X-Request-Id',
  'traceresponse',
  'WWW-Authenticate',
  'DPoP-Nonce',
  'Retry-After',
  'RateLimit',
  'RateLimit-Policy',
  'Location',
];

/**
 * helmet's headers (`X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy:
 * no-referrer`, cross-origin isolation, ...), computed once: helmet's values do not depend on the
 * request, and setting one prepared object per request costs a fraction of running its twelve
 * middlewares each time. CSP and HSTS are set per request below.
 */
function helmetHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string | number | readonly string[]) =>
      void (headers[name.toLowerCase()] = String(value)),
    removeHeader: () => undefined,
  } as unknown as ServerResponse;
  helmet({ contentSecurityPolicy: false, strictTransportSecurity: false, frameguard: { action: 'deny' } })(
    {} as IncomingMessage,
    response,
    () => undefined,
  );
  return headers;
}

/**
 * Response security headers and the CORS policy, for every route (call before the application
 * initialises, after the audit hooks so that a refused preflight still gets its record):
 * - helmet's headers (computed once): `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
 *   `Referrer-Policy: no-referrer`, cross-origin isolation headers, ...;
 * - `Content-Security-Policy`: {@link API_CSP}, or {@link DOCS_CSP} under the docs prefix;
 * - `Strict-Transport-Security` ({@link HSTS_VALUE}) when the public origin is https or the
 *   request came over TLS (directly, or through a proxy believed by `TRUST_PROXY`; HSTS over
 *   plain http is ignored by browsers and would pin development hosts to https);
 * - `Cache-Control: no-store` on every answer (API answers are per caller; requests carrying
 *   credentials above all);
 * - CORS (@fastify/cors): the allowed origins' preflights are answered 204 and their responses
 *   carry `Access-Control-Allow-Origin`; a preflight from any other origin is 403 problem+json
 *   `cors_origin_not_allowed`. No credentials mode: tokens travel in headers, not cookies.
 */
export function registerSecurityHeaders(fastify: FastifyInstance, options: SecurityHeadersOptions): void {
  const docsPrefix = options.docsPrefix ?? '/docs';
  const allowed = new Set(options.corsAllowedOrigins);
  const httpsOrigin = options.publicOrigin?.startsWith('https:') === true;

  const base = helmetHeaders();
  // No-store first: API answers are per caller. No route sets a caching policy of its own, so this
  // holds for every answer, credentialed or not (the one-time clientSecret included).
  const apiHeaders = { ...base, 'content-security-policy': API_CSP, 'cache-control': 'no-store' };
  // The docs page signs in through a popup that passes the provider's origin and comes back to
  // /docs/oauth2-redirect.html, which hands the code to window.opener: helmet's
  // Cross-Origin-Opener-Policy (same-origin) would cut that link, so the docs pages go without it.
  const { 'cross-origin-opener-policy': _coop, ...docsBase } = base;
  const docsHeaders = {
    ...docsBase,
    'content-security-policy': docsCsp(options.docsConnectSources ?? []),
    'cache-control': 'no-store',
  };

  fastify.addHook('onRequest', (request, reply, done) => {
    const url = request.url;
    const docs =
      (url.startsWith(docsPrefix) &&
        (url.length === docsPrefix.length || url[docsPrefix.length] === '/' || url[docsPrefix.length] === '?')) ||
      url.startsWith(DOCS_OAUTH_REDIRECT_PATH);
    reply.headers(docs ? docsHeaders : apiHeaders);
    if (httpsOrigin || request.protocol === 'https') reply.header('strict-transport-security', HSTS_VALUE);
    const origin = request.headers.origin;
    // A CORS preflight (Fetch standard: OPTIONS with Origin and Access-Control-Request-Method).
    if (
      request.method === 'OPTIONS' &&
      origin !== undefined &&
      request.headers['access-control-request-method'] !== undefined &&
      !allowed.has(origin)
    ) {
      done(
        new ProblemException(
          403,
          'cors_origin_not_allowed',
          'This origin may not call the API from a browser.',
        ) as unknown as FastifyError,
      );
      return;
    }
    done();
  });

  void fastify.register(cors, {
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    credentials: false,
    maxAge: 600,
    // An allowed origin's OPTIONS without Access-Control-Request-Method is answered like a preflight, not with a text/plain 400.
    strictPreflight: false,
  });
}
