import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { clientCredentialsToken, devClientToken, devUserToken, profileUsername } from '@platform/dev-idp';
import { TestPlatform, type TestResponse } from './test-platform';

/**
 * Where the remote-capable suites run: `PLATFORM_URL` (a deployed platform) or, without it, a
 * platform started in this process. Read once per suite.
 *
 * Remote settings (docs/testing.md):
 * - `PLATFORM_URL`: the API's base URL, e.g. http://localhost:3000.
 * - `PLATFORM_TOKEN_COMMAND`: a command printing an access token, given `--user NAME`,
 *   `--client ID` or `--client ID --secret S --scope X...` (the arguments of `npm run token`).
 *   Without it, tokens come from the development provider at `PLATFORM_ISSUER`
 *   (default: port 3001 on PLATFORM_URL's host) for `PLATFORM_AUDIENCE` (default urn:platform:api).
 */
export const PLATFORM_URL = process.env.PLATFORM_URL?.replace(/\/$/, '') || undefined;

/** One platform under test, in-process or deployed, and how to get tokens for it. */
export interface PlatformTarget {
  readonly url: string;
  /** True when the platform runs elsewhere (`PLATFORM_URL`): no logs, no restarts, no faults. */
  readonly remote: boolean;
  /** A tenant name of this run only (`e2e-<random>`): remote runs never see or depend on other data. */
  newTenant(): string;
  /** A token of a seeded user (alice, bob, ...) or of a test profile (`profile:<tenant>:<roles>`). */
  userToken(username: string): Promise<string>;
  /** A token of a person of `tenant` (null: none) holding exactly `roles`, through the development provider. */
  profileToken(tenant: string | null, roles: string[]): Promise<string>;
  /** A token of a seeded machine client, or of a registered one (its secret and the scopes to ask for). */
  clientToken(clientId: string, secret?: string, scopes?: string[]): Promise<string>;
  request(
    method: string,
    pathname: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<TestResponse>;
  close(): Promise<void>;
}

/** One HTTP request read whole (JSON bodies parsed). */
export async function httpRequest(
  baseUrl: string,
  method: string,
  pathname: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<TestResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.body);
  }
  const response = await fetch(`${baseUrl}${pathname}`, { method, headers, body });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  return {
    status: response.status,
    headers: response.headers, // NDJSON (the audit export) stays text.
    body: /application\/(problem\+)?json/.test(type) && text ? (JSON.parse(text) as unknown) : text,
    requestId: response.headers.get('x-request-id') ?? '',
  };
}

const newTenant = () => `e2e-${randomBytes(4).toString('hex')}`;

/** Tokens through a command with `npm run token`'s arguments. */
function commandTokens(command: string) {
  const run = async (args: string[]) => {
    const { stdout } = await promisify(execFile)('/bin/sh', ['-c', `${command} "$@"`, 'token-command', ...args]);
    const token = stdout.trim().split('\n').at(-1) ?? '';
    if (token.split('.').length !== 3) throw new Error(`PLATFORM_TOKEN_COMMAND printed no JWT for ${args.join(' ')}`);
    return token;
  };
  return {
    user: (name: string) => run(['--user', name]),
    client: (id: string, secret?: string, scopes: string[] = []) =>
      run(secret ? ['--client', id, '--secret', secret, ...scopes.flatMap((s) => ['--scope', s])] : ['--client', id]),
  };
}

/** Tokens from a development provider at `issuer`. */
function devProviderTokens(issuer: string, audience: string) {
  return {
    user: (name: string) => devUserToken(issuer, name, audience),
    client: (id: string, secret?: string, scopes: string[] = []) =>
      secret
        ? clientCredentialsToken(issuer, { clientId: id, clientSecret: secret, scopes }, audience)
        : devClientToken(issuer, id, audience),
  };
}

/**
 * Opens the platform under test: `PLATFORM_URL` when set, otherwise a platform started in this
 * process (on PGlite, free ports).
 */
export async function openTarget(): Promise<PlatformTarget> {
  let url: string;
  let tokens: ReturnType<typeof devProviderTokens>;
  let close = async () => undefined as void;
  if (PLATFORM_URL) {
    url = PLATFORM_URL;
    const host = new URL(url).hostname;
    // The development provider listens on 127.0.0.1 only.
    const issuer = process.env.PLATFORM_ISSUER ?? `http://${host === 'localhost' ? '127.0.0.1' : host}:3001`;
    tokens = process.env.PLATFORM_TOKEN_COMMAND
      ? commandTokens(process.env.PLATFORM_TOKEN_COMMAND)
      : devProviderTokens(issuer, process.env.PLATFORM_AUDIENCE ?? 'urn:platform:api');
  } else {
    const platform = await TestPlatform.start();
    url = platform.url;
    tokens = devProviderTokens(platform.issuer, platform.audience);
    close = () => platform.close();
  }
  return {
    url,
    remote: PLATFORM_URL !== undefined,
    newTenant,
    userToken: tokens.user,
    profileToken: (tenant, roles) => tokens.user(profileUsername(tenant, roles)),
    clientToken: tokens.client,
    request: (method, pathname, options) => httpRequest(url, method, pathname, options),
    close,
  };
}
