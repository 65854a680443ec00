import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createDpopProof, type DpopKey } from '@platform/dev-idp';
import {
  GLEWLWYD_CLI,
  glewlwydConfig,
  oidcPluginParameters,
  signingKey,
  type GlewlwydSetup,
  type SigningKey,
} from './glewlwyd-config';
import { freePort } from './platform-process';

/** Where Debian's package puts the server (scripts/ci/install-glewlwyd.sh installs it). */
export const GLEWLWYD_BINARY = '/usr/bin/glewlwyd';
/** The package's sqlite schema with its initial data (admin/password, the built-in modules). */
const SCHEMA = '/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz';

/** True when glewlwyd, its sqlite schema and the sqlite3 shell are installed. */
export function glewlwydInstalled(): boolean {
  return existsSync(GLEWLWYD_BINARY) && existsSync(SCHEMA) && existsSync('/usr/bin/sqlite3');
}

export type { GlewlwydClient, GlewlwydPerson, GlewlwydSetup } from './glewlwyd-config';

/** A user's tokens from the authorization-code flow. */
export interface UserTokens {
  accessToken: string;
  idToken: string;
  tokenType: string;
}

const ADMIN = { username: 'admin', password: 'password' };
const PLUGIN = 'oidc';
/** How long glewlwyd may take to answer after its start (it answers in about 0.2 s here). */
const START_TIMEOUT_MS = 15_000;

/** A cookie jar for one glewlwyd session (the admin's, or a person's sign-in). */
class Session {
  private readonly cookies = new Map<string, string>();
  constructor(private readonly api: string) {}

  /**
   * One call to glewlwyd's API (`path` after `/api`), JSON in and out, redirects not followed.
   * @throws Error naming the call and glewlwyd's answer when the status is not 2xx (unless `raw`)
   */
  async call(method: string, pathname: string, body?: unknown, raw = false): Promise<Response> {
    const response = await fetch(`${this.api}${pathname}`, {
      method,
      redirect: 'manual',
      headers: {
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const eq = pair.indexOf('=');
      this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    if (!raw && (response.status < 200 || response.status > 299)) {
      throw new Error(
        `glewlwyd ${method} /api${pathname} answered ${response.status}: ${(await response.text()).slice(0, 300)}`,
      );
    }
    return response;
  }
}

/**
 * glewlwyd (Debian's package), an OpenID provider no one here wrote, started for one suite: its own
 * sqlite database and configuration in a temporary folder (in /dev/shm when there is one), a free
 * port on 127.0.0.1, configured through its admin API (user and client properties `tenant` and `roles`, the scopes, the OIDC
 * plugin with RFC 9068 access tokens signed RS256, resource indicators mapping every scope to the
 * platform's audience, DPoP, the people and clients of `setup`).
 */
export class Glewlwyd {
  private keys: SigningKey[] = [signingKey('rsa-1', 'rsa')];
  private defaultKid = 'rsa-1';

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    /** Everything glewlwyd wrote to stdout and stderr (its log), to explain a failure. */
    readonly output: string[],
    /** Its external URL, `http://127.0.0.1:<port>`. */
    readonly url: string,
    readonly setup: GlewlwydSetup,
  ) {}

  /** The OIDC plugin's issuer (the `iss` of its tokens and of its discovery document). */
  get issuer(): string {
    return `${this.url}/api/oidc`;
  }

  private get api(): string {
    return `${this.url}/api`;
  }

  /**
   * Starts and configures glewlwyd.
   * @throws Error with glewlwyd's output when it exits or does not answer within 15 s, or when a configuration call is refused
   */
  static async start(setup: GlewlwydSetup): Promise<Glewlwyd> {
    // In memory where possible: glewlwyd's sqlite syncs every write to disk (start and configuration 1.4 s instead of 2.9 s here).
    const dir = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'glewlwyd-'));
    const database = path.join(dir, 'glewlwyd.db');
    // In one transaction: statement by statement, each one syncs to disk (3.6 s instead of 0.1 s here).
    execFileSync('sqlite3', [database], {
      input: Buffer.concat([Buffer.from('BEGIN;\n'), gunzipSync(readFileSync(SCHEMA)), Buffer.from('\nCOMMIT;\n')]),
    });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const config = path.join(dir, 'glewlwyd.conf');
    writeFileSync(config, glewlwydConfig(port, url, database));
    const child = spawn(GLEWLWYD_BINARY, [`--config-file=${config}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const glewlwyd = new Glewlwyd(child, dir, output, url, setup);
    try {
      await glewlwyd.waitUntilAnswering();
      await glewlwyd.configure();
    } catch (err) {
      await glewlwyd.stop();
      throw new Error(`${(err as Error).message}\nglewlwyd's output:\n${output.join('').slice(-2000)}`);
    }
    return glewlwyd;
  }

  /** Polls glewlwyd's API until it answers at all (bounded), failing at once if the process exits. */
  private async waitUntilAnswering(): Promise<void> {
    const exited = new Promise<never>((_, reject) =>
      this.child.once('exit', (code) => reject(new Error(`glewlwyd exited with ${code} before answering`))),
    );
    exited.catch(() => undefined);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const answered = await Promise.race([
        fetch(`${this.api}/auth/scheme`).then(
          () => true,
          () => false,
        ),
        exited,
      ]);
      if (answered) return;
      if (Date.now() > deadline)
        throw new Error(`glewlwyd did not answer on ${this.url} within ${START_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** A session signed in as glewlwyd's administrator. */
  private async admin(): Promise<Session> {
    const session = new Session(this.api);
    await session.call('POST', '/auth/', ADMIN);
    return session;
  }

  private async configure(): Promise<void> {
    const admin = await this.admin();
    // 1. User and client properties: the new fields are accepted only after a reset of the module instances.
    const userModule = (await (await admin.call('GET', '/mod/user/database')).json()) as ModuleInstance;
    const userFormat = { read: true, write: true, 'profile-read': true, 'profile-write': false };
    userModule.parameters['data-format'] = {
      ...userModule.parameters['data-format'],
      tenant: { multiple: false, ...userFormat },
      roles: { multiple: true, ...userFormat },
    };
    await admin.call('PUT', '/mod/user/database', editable(userModule));
    const clientModule = (await (await admin.call('GET', '/mod/client/database')).json()) as ModuleInstance;
    clientModule.parameters['data-format'] = {
      ...clientModule.parameters['data-format'],
      tenant: { multiple: false, read: true, write: true },
    };
    await admin.call('PUT', '/mod/client/database', editable(clientModule));
    await admin.call('PUT', '/mod/user/database/reset');
    await admin.call('PUT', '/mod/client/database/reset');

    // 2. Scopes: people ask for "platform", machines for the platform's scope names.
    const scopes = ['platform', ...new Set(this.setup.clients.flatMap((c) => c.scopes))];
    for (const name of scopes) {
      await admin.call('POST', '/scope/', {
        name,
        display_name: name,
        description: name,
        password_required: false,
        scheme: {},
      });
    }

    // 3. The OIDC plugin.
    await admin.call('POST', '/mod/plugin/', {
      module: 'oidc',
      name: PLUGIN,
      display_name: 'OpenID Connect',
      parameters: oidcPluginParameters(this.issuer, this.setup, scopes, this.jwksPrivate(), this.defaultKid),
    });

    // 4. People and clients.
    for (const person of this.setup.people) {
      await admin.call('POST', '/user/', {
        username: person.username,
        name: person.username,
        email: `${person.username}@example.test`,
        enabled: true,
        password: `secret-${person.username}`,
        scope: ['openid', 'platform'],
        ...(person.roles && { roles: person.roles }),
        ...(person.tenant && { tenant: person.tenant }),
      });
    }
    await admin.call('POST', '/client/', {
      client_id: GLEWLWYD_CLI.clientId,
      client_secret: GLEWLWYD_CLI.secret,
      confidential: true,
      enabled: true,
      name: 'Platform CLI',
      scope: ['openid', 'platform'],
      authorization_type: ['code', 'refresh_token'],
      redirect_uri: [GLEWLWYD_CLI.redirectUri],
      token_endpoint_auth_method: ['client_secret_basic'],
    });
    for (const client of this.setup.clients) {
      await admin.call('POST', '/client/', {
        client_id: client.clientId,
        client_secret: client.secret,
        confidential: true,
        enabled: true,
        name: client.clientId,
        scope: client.scopes,
        authorization_type: ['client_credentials'],
        redirect_uri: [],
        token_endpoint_auth_method: ['client_secret_basic'],
        ...(client.tenant && { tenant: client.tenant }),
      });
    }
  }

  private jwksPrivate(): string {
    // The signing key first: glewlwyd 2.7.5 was seen signing with the first key of the set although `default-kid` named another.
    const ordered = [...this.keys].sort(
      (a, b) => Number(b.kid === this.defaultKid) - Number(a.kid === this.defaultKid),
    );
    return JSON.stringify({ keys: ordered.map((k) => k.jwk) });
  }

  /** Replaces some of the OIDC plugin's parameters, then resets the plugin so they apply. */
  private async setPluginParameters(changes: Record<string, unknown>): Promise<void> {
    const admin = await this.admin();
    const plugin = (await (await admin.call('GET', `/mod/plugin/${PLUGIN}`)).json()) as ModuleInstance;
    plugin.parameters = { ...plugin.parameters, ...changes };
    await admin.call('PUT', `/mod/plugin/${PLUGIN}`, editable(plugin));
    await admin.call('PUT', `/mod/plugin/${PLUGIN}/reset`);
  }

  /** The key ids glewlwyd publishes in its JWKS (as a relying party sees them). */
  async publishedKids(): Promise<string[]> {
    const { jwks_uri } = (await (await fetch(`${this.issuer}/.well-known/openid-configuration`)).json()) as {
      jwks_uri: string;
    };
    const { keys } = (await (await fetch(jwks_uri)).json()) as { keys: { kid: string }[] };
    return keys.map((k) => k.kid);
  }

  /**
   * Key rotation, in the two steps a provider takes: `add-es256` publishes a new ES256 key `ec-2`
   * next to RS256 `rsa-1` and signs with it from now on; `remove-rs256` stops publishing `rsa-1`.
   */
  async rotateKeys(step: 'add-es256' | 'remove-rs256'): Promise<void> {
    if (step === 'add-es256') {
      this.keys.push(signingKey('ec-2', 'ec'));
      this.defaultKid = 'ec-2';
    } else {
      this.keys = this.keys.filter((k) => k.kid !== 'rsa-1');
    }
    await this.setPluginParameters({ 'jwks-private': this.jwksPrivate(), 'default-kid': this.defaultKid });
  }

  /**
   * A person's tokens through the authorization-code flow with PKCE (RFC 7636), the sign-in
   * scripted as glewlwyd's login page does it: POST /api/auth (password), PUT /api/auth/grant
   * (consent), then /api/oidc/auth with `g_continue` redirects to the client with a code.
   *
   * @param options.dpop a key to bind the access token to (RFC 9449: a proof sent with the token request)
   * @param options.resource the resource to ask for (default: the platform's audience)
   * @throws Error with glewlwyd's answer when a step is refused
   */
  async userTokens(username: string, options: { dpop?: DpopKey; resource?: string } = {}): Promise<UserTokens> {
    const session = new Session(this.api);
    await session.call('POST', '/auth/', { username, password: `secret-${username}` });
    const scope = 'openid platform';
    await session.call('PUT', `/auth/grant/${GLEWLWYD_CLI.clientId}`, { scope });
    const verifier = randomBytes(32).toString('base64url');
    const resource = options.resource ?? this.setup.audience;
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: GLEWLWYD_CLI.clientId,
      redirect_uri: GLEWLWYD_CLI.redirectUri,
      scope,
      g_continue: '',
      state: randomBytes(8).toString('hex'),
      nonce: randomBytes(8).toString('hex'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      resource,
    });
    const authorize = await session.call('GET', `/oidc/auth?${query.toString()}`, undefined, true);
    const location = authorize.headers.get('location') ?? '';
    const code = location.startsWith(GLEWLWYD_CLI.redirectUri) ? new URL(location).searchParams.get('code') : null;
    if (!code)
      throw new Error(
        `glewlwyd's authorization of ${username} answered ${authorize.status}, location ${location || '(none)'}`,
      );
    const json = await this.tokenRequest(
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: GLEWLWYD_CLI.redirectUri,
        code_verifier: verifier,
        resource,
      },
      GLEWLWYD_CLI.clientId,
      GLEWLWYD_CLI.secret,
      options.dpop,
    );
    return { accessToken: json.access_token, idToken: json.id_token as string, tokenType: json.token_type };
  }

  /** A person's access token (see `userTokens`). */
  async userToken(username: string, options: { dpop?: DpopKey; resource?: string } = {}): Promise<string> {
    return (await this.userTokens(username, options)).accessToken;
  }

  /**
   * A machine's access token through client credentials (RFC 6749 section 4.4).
   * @param scope space-separated scopes
   * @param options.resource the resource to ask for (default: the platform's audience; null: none, then glewlwyd's aud is the scope list)
   * @throws Error with glewlwyd's answer when refused
   */
  async machineToken(
    clientId: string,
    scope: string,
    options: { dpop?: DpopKey; resource?: string | null } = {},
  ): Promise<string> {
    const client = this.setup.clients.find((c) => c.clientId === clientId);
    if (!client) throw new Error(`no glewlwyd client ${clientId} in the set-up`);
    const resource = options.resource === undefined ? this.setup.audience : options.resource;
    const json = await this.tokenRequest(
      { grant_type: 'client_credentials', scope, ...(resource !== null && { resource }) },
      client.clientId,
      client.secret,
      options.dpop,
    );
    return json.access_token;
  }

  private async tokenRequest(
    body: Record<string, string>,
    clientId: string,
    secret: string,
    dpop?: DpopKey,
  ): Promise<TokenResponse> {
    const endpoint = `${this.issuer}/token`;
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
        ...(dpop && { dpop: await createDpopProof(dpop, 'POST', endpoint) }),
      },
      body: new URLSearchParams(body),
    });
    const json = (await response.json().catch(() => ({}))) as Partial<TokenResponse> & {
      error?: string;
      error_description?: string;
    };
    if (!response.ok || !json.access_token)
      throw new Error(
        `glewlwyd's token endpoint answered ${response.status}: ${json.error ?? ''} ${json.error_description ?? ''}`.trim(),
      );
    return json as TokenResponse;
  }

  /** Stops glewlwyd (SIGTERM, then SIGKILL after 5 s) and removes its folder. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

interface TokenResponse {
  access_token: string;
  token_type: string;
  id_token?: string;
}

/** A module or plugin instance as glewlwyd's admin API returns it. */
interface ModuleInstance {
  display_name: string;
  order_rank?: number;
  readonly?: boolean;
  multiple_passwords?: boolean;
  parameters: Record<string, unknown> & { 'data-format'?: Record<string, unknown> };
}

/** The members of an instance that its PUT accepts. */
function editable(instance: ModuleInstance): Record<string, unknown> {
  const { display_name, order_rank, readonly, multiple_passwords, parameters } = instance;
  return {
    display_name,
    order_rank,
    readonly,
    parameters,
    ...(multiple_passwords !== undefined && { multiple_passwords }),
  };
}
