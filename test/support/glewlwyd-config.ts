import { createPrivateKey, generateKeyPairSync } from 'node:crypto';

/**
 * What the interop suite's glewlwyd is made of: the people and clients of a set-up, the signing
 * keys, glewlwyd's configuration file and its OIDC plugin's parameters (test/support/glewlwyd.ts
 * applies them through glewlwyd's admin API).
 */

/** The client people sign in with (authorization code + PKCE); its redirect is never followed. */
export const GLEWLWYD_CLI = {
  clientId: 'platform-cli',
  secret: 'cli-secret',
  redirectUri: 'http://127.0.0.1/callback',
};

/** A person of the test set-up: signs in with password `secret-<username>`. */
export interface GlewlwydPerson {
  username: string;
  /** The `tenant` user property, emitted as the `tenant` claim; absent for a person of no tenant. */
  tenant?: string;
  /** The `roles` user property (multi-valued): glewlwyd emits it as ONE comma-joined string. */
  roles?: string[];
}

/** A machine client of the test set-up (client credentials, client_secret_basic). */
export interface GlewlwydClient {
  clientId: string;
  secret: string;
  /** The `tenant` client property, emitted as the `tenant` claim of its tokens. */
  tenant?: string;
  scopes: string[];
}

/** What glewlwyd is configured with: the audience (resource indicator) and who exists there. */
export interface GlewlwydSetup {
  /** The resource the platform's tokens are asked for (RFC 8707); it becomes `aud`. */
  audience: string;
  /** Further resources a client may ask for (to get tokens for another audience). */
  otherAudiences: string[];
  people: GlewlwydPerson[];
  clients: GlewlwydClient[];
  /** Access-token lifetime in seconds. */
  accessTokenSeconds: number;
}

/** A signing key of the OIDC plugin: the private JWK glewlwyd signs with. */
export interface SigningKey {
  kid: string;
  jwk: Record<string, unknown>;
}

/**
 * A private signing JWK. As PEM, then parsed: exporting a JWK from a key object that key
 * generation returned can deadlock Node 20 (see test/support/test-issuer.ts).
 */
export function signingKey(kid: string, type: 'rsa' | 'ec'): SigningKey {
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const pem =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding, publicKeyEncoding })
      : generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding, publicKeyEncoding });
  const jwk = createPrivateKey(pem.privateKey).export({ format: 'jwk' }) as Record<string, unknown>;
  return { kid, jwk: { ...jwk, kid, alg: type === 'rsa' ? 'RS256' : 'ES256', use: 'sig' } };
}

/**
 * The OIDC plugin's parameters: RFC 9068 access tokens signed with `jwksPrivate` (a private JWKS
 * as a JSON string), code + PKCE, client credentials and refresh; the `tenant` and `roles`
 * properties as claims; resource indicators mapping every scope to the audiences of `setup`; DPoP.
 * @param scopes every scope glewlwyd knows
 */
export function oidcPluginParameters(
  issuer: string,
  setup: GlewlwydSetup,
  scopes: string[],
  jwksPrivate: string,
  defaultKid: string,
): Record<string, unknown> {
  const resources = [setup.audience, ...setup.otherAudiences];
  return {
    iss: issuer,
    'jwks-private': jwksPrivate,
    'default-kid': defaultKid,
    'jwks-show': true,
    'access-token-duration': setup.accessTokenSeconds,
    'refresh-token-duration': 1209600,
    'code-duration': 600,
    'refresh-token-rolling': true,
    'allow-non-oidc': true,
    'auth-type-code-enabled': true,
    'auth-type-token-enabled': false,
    'auth-type-id-token-enabled': true,
    'auth-type-password-enabled': false,
    'auth-type-client-enabled': true,
    'auth-type-refresh-enabled': true,
    'subject-type': 'public',
    scope: [],
    'pkce-allowed': true,
    // Custom properties become claims; a multi-valued one (roles) as ONE comma-joined string.
    'additional-parameters': [
      { 'user-parameter': 'tenant', 'client-parameter': 'tenant', 'token-parameter': 'tenant' },
      { 'user-parameter': 'roles', 'token-parameter': 'roles' },
      { 'user-parameter': 'username', 'token-parameter': 'preferred_username' },
    ],
    // RFC 8707: the resource a client asks for becomes `aud` (without it, aud is the scope list).
    'resource-allowed': true,
    'resource-scope-and-client-property': false,
    'resource-scope': Object.fromEntries(scopes.map((s) => [s, resources])),
    'oauth-dpop-allowed': true,
    'oauth-dpop-iat-duration': 60,
    'introspection-revocation-allowed': false,
    'register-client-allowed': false,
    'session-management-allowed': false,
  };
}

/**
 * glewlwyd's configuration file: one port on 127.0.0.1, its own sqlite file, logs to the console
 * (captured). No `use_secure_connection` line: glewlwyd refuses to start with it set to false
 * unless certificate paths are given too.
 */
export function glewlwydConfig(port: number, url: string, database: string): string {
  return `# glewlwyd for test/e2e/interop-glewlwyd.e2e-spec.ts (generated)
port=${port}
bind_address="127.0.0.1"
external_url="${url}"
login_url="login.html"
api_prefix="api"
static_files_path="/usr/share/glewlwyd/webapp/"
allow_origin="*"
log_mode="console"
log_level="WARNING"
cookie_domain=""
cookie_secure=0
cookie_same_site="empty"
session_expiration=3600
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
allow_multiple_user_per_session=true
login_api_enabled=true
add_x_frame_option_header_deny=true
max_post_size=16778240
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="/usr/lib/glewlwyd/user"
user_middleware_module_path="/usr/lib/glewlwyd/user_middleware"
client_module_path="/usr/lib/glewlwyd/client"
user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"
plugin_module_path="/usr/lib/glewlwyd/plugin"
hash_algorithm="SHA512"
database = { type = "sqlite3"; path = "${database}"; };
`;
}
