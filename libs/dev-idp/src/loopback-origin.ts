/**
 * True when `origin` (a browser's Origin header, e.g. `http://127.0.0.1:3000`) is an `http:` origin
 * on 127.0.0.1, [::1] or localhost, any port. The development provider grants CORS on its token
 * endpoint to its browser clients (the console and the OpenAPI page) only from such origins: the
 * platform serves both pages itself over plain HTTP on loopback in development, so an `https:` or
 * non-loopback origin is never one of them. False for anything that does not parse as a URL.
 */
export function isLoopbackOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  } catch {
    return false;
  }
}
