import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { ProblemException } from './problem.exception';

/** Options of {@link registerSecurityHeaders}. */
export interface SecurityHeadersOptions {
  /** The API's public origin (`PUBLIC_ORIGIN`); an `https:` one turns HSTS on for every response. */
  publicOrigin?: string;
  /** Exact browser origins allowed to call across origins (`CORS_ALLOWED_ORIGINS`); empty: none. */
  corsAllowedOrigins: readonly string[];
  /** Path prefix of Swagger UI (default `/docs`): the only HTML the platform serves. */
  docsPrefix?: string;
}

/** One year, with subdomains (RFC 6797): what browsers' preload lists ask for. */
export const HSTS_VALUE = 'max-age=31536000; includeSubDomains';
/** JSON responses load nothing and may not be framed (OWASP REST Security Cheat Sheet). */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/**
 * Swagger UI: its scripts, styles and the OpenAPI document come from this origin (Nest serves
 * them as files: no inline script), inline styles are its own, images may be data: URLs; never
 * framed (clickjacking), no plugins.
 */
export const DOCS_CSP =
  "default-src 'self'; base-uri 'self'; connect-src 'self'; font-src 'self' data:; form-action 'self'; frame-ancestors 'none'; " +
  "img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'unsafe-inline'";

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
const CORS_ALLOWED_HEADERS = ['Authorization', 'DPoP', 'Content-Type', 'Idempotency-Key', 'traceparent', 'tracestate', 'X-Request-Id'];
/** Response headers a browser client may read across origins. */
const CORS_EXPOSED_HEADERS = ['X-Request-Id', 'traceresponse', 'WWW-Authenticate', 'DPoP-Nonce', 'Retry-After', 'RateLimit', 'RateLimit-Policy', 'Location'];

/** True when the request carries a credential (a bearer or DPoP token, or a cookie). */
function carriesCredentials(request: FastifyRequest): boolean {
  const h = request.headers;
  return h.authorization !== undefined || h.dpop !== undefined || h.cookie !== undefined;
}

/**
 * Response security headers and the CORS policy, for every route (call before the application
 * initialises, after the audit hooks so that a refused preflight still gets its record):
 * - @fastify/helmet: `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy:
 *   no-referrer`, cross-origin isolation headers, ...;
 * - `Content-Security-Policy`: {@link API_CSP}, or {@link DOCS_CSP} under the docs prefix;
 * - `Strict-Transport-Security` ({@link HSTS_VALUE}) when the public origin is https or the
 *   request came over TLS (directly, or through a proxy believed by `TRUST_PROXY`);
 * - `Cache-Control: no-store` on every response to a request carrying credentials, and on every
 *   response that set no caching policy of its own (API answers are per caller);
 * - CORS (@fastify/cors): the allowed origins' preflights are answered 204 and their responses
 *   carry `Access-Control-Allow-Origin`; a preflight from any other origin is 403 problem+json
 *   `cors_origin_not_allowed`. No credentials mode: tokens travel in headers, not cookies.
 */
export function registerSecurityHeaders(fastify: FastifyInstance, options: SecurityHeadersOptions): void {
  const docsPrefix = options.docsPrefix ?? '/docs';
  const allowed = new Set(options.corsAllowedOrigins);
  const httpsOrigin = options.publicOrigin?.startsWith('https:') === true;

  fastify.addHook('onRequest', (request, reply, done) => {
    const url = request.url;
    const docs = url === docsPrefix || url.startsWith(`${docsPrefix}/`) || url.startsWith(`${docsPrefix}?`);
    reply.header('content-security-policy', docs ? DOCS_CSP : API_CSP);
    if (httpsOrigin || request.protocol === 'https') reply.header('strict-transport-security', HSTS_VALUE);
    const origin = request.headers.origin;
    // A CORS preflight (Fetch standard: OPTIONS with Origin and Access-Control-Request-Method).
    if (request.method === 'OPTIONS' && origin !== undefined && request.headers['access-control-request-method'] !== undefined && !allowed.has(origin)) {
      done(new ProblemException(403, 'cors_origin_not_allowed', 'This origin may not call the API from a browser.') as unknown as FastifyError);
      return;
    }
    done();
  });

  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (carriesCredentials(request) || !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });

  void fastify.register(helmet, {
    // Set per path above (the API and Swagger UI need different policies).
    contentSecurityPolicy: false,
    // Set above, only where the origin is https (HSTS over plain http is ignored, and would
    // pin localhost development to https).
    strictTransportSecurity: false,
    frameguard: { action: 'deny' },
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
