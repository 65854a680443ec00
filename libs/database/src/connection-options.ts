import type { ClientConfig } from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';

/**
 * node-postgres options for `url` whose password is asked for at each new connection: the value
 * `password()` gives now (a rotated secret), else the URL's own password. The URL is parsed here,
 * not passed as `connectionString`: node-postgres would let the URL's (empty) password override
 * a password function.
 */
export function postgresOptions(url: string, password?: () => string | undefined): ClientConfig {
  const parsed = parseIntoClientConfig(url);
  const fromUrl = typeof parsed.password === 'string' && parsed.password !== '' ? parsed.password : undefined;
  return {
    ...parsed,
    password: password ? () => password() ?? fromUrl ?? '' : fromUrl,
  };
}
