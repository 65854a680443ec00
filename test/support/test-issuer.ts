import {
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A signing key of the test issuer. */
export interface TestKey {
  kid: string | undefined;
  privateKey: KeyObject;
  publicJwk: Record<string, unknown>;
  alg: string;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * A real OpenID issuer for tests whose keys and JWKS the test controls: serves the discovery
 * document and the JWKS over HTTP on 127.0.0.1, counts JWKS fetches, and signs tokens (or forges
 * them: `alg: none`, HS256 keyed with the public key, ...).
 */
export class TestIssuer {
  readonly keys = new Map<string, TestKey>();
  /** The JWKS document served; replace `published` to rotate keys. */
  published: Record<string, unknown>[] = [];
  jwksFetches = 0;
  issuer = '';
  /** The `issuer` its discovery document names, when it should differ from `issuer` (misconfiguration tests). */
  discoveryIssuer?: string;
  private server?: Server;

  static async start(): Promise<TestIssuer> {
    const issuer = new TestIssuer();
    issuer.server = createServer((req, res) => {
      if (req.url === '/.well-known/openid-configuration') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ issuer: issuer.discoveryIssuer ?? issuer.issuer, jwks_uri: `${issuer.issuer}/jwks` }));
      } else if (req.url === '/jwks') {
        issuer.jwksFetches++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: issuer.published }));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => issuer.server?.listen(0, '127.0.0.1', () => resolve()));
    issuer.issuer = `http://127.0.0.1:${(issuer.server.address() as AddressInfo).port}`;
    return issuer;
  }

  /** Creates a key; published in the JWKS unless `publish: false`. */
  addKey(
    kid: string | undefined,
    type: 'rsa' | 'rsa1024' | 'ec' | 'ed25519' = 'rsa',
    options: { publish?: boolean; jwk?: Record<string, unknown> } = {},
  ): TestKey {
    // As PEM, then parsed: exporting a JWK from a KeyObject that key generation returned can
    // deadlock Node 20 (the generation job's destructor, run by GC, takes the key's lock).
    const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
    const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
    const pem: { privateKey: string; publicKey: string } =
      type === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding, publicKeyEncoding })
        : type === 'ed25519'
          ? generateKeyPairSync('ed25519', { privateKeyEncoding, publicKeyEncoding })
          : generateKeyPairSync('rsa', {
              modulusLength: type === 'rsa1024' ? 1024 : 2048,
              privateKeyEncoding,
              publicKeyEncoding,
            });
    const pair = { privateKey: createPrivateKey(pem.privateKey), publicKey: createPublicKey(pem.publicKey) };
    const alg = type === 'ec' ? 'ES256' : type === 'ed25519' ? 'EdDSA' : 'RS256';
    const publicJwk = {
      ...pair.publicKey.export({ format: 'jwk' }),
      ...(kid !== undefined && { kid }),
      use: 'sig',
      ...options.jwk,
    };
    const key: TestKey = { kid, privateKey: pair.privateKey, publicJwk, alg };
    this.keys.set(kid ?? '(none)', key);
    if (options.publish !== false) this.published.push(publicJwk);
    return key;
  }

  key(kid: string): TestKey {
    const key = this.keys.get(kid);
    if (!key) throw new Error(`no test key ${kid}`);
    return key;
  }

  /**
   * Signs `claims` with a key (default: the first). `header` overrides header members
   * (`kid: undefined` removes it). Defaults: iss = this issuer, iat/nbf = now, exp = now + 300.
   */
  sign(
    claims: Record<string, unknown>,
    options: { kid?: string; header?: Record<string, unknown>; alg?: string } = {},
  ): string {
    const key = options.kid ? this.key(options.kid) : [...this.keys.values()][0];
    const now = Math.floor(Date.now() / 1000);
    const alg = options.alg ?? key.alg;
    const header: Record<string, unknown> = {
      alg,
      typ: 'at+jwt',
      ...(key.kid !== undefined && { kid: key.kid }),
      ...options.header,
    };
    for (const name of Object.keys(header)) if (header[name] === undefined) delete header[name];
    const payload = { iss: this.issuer, iat: now, nbf: now, exp: now + 300, ...claims };
    for (const name of Object.keys(payload))
      if ((payload as Record<string, unknown>)[name] === undefined) delete (payload as Record<string, unknown>)[name];
    const input = `${b64(header)}.${b64(payload)}`;
    return `${input}.${signWith(alg, key.privateKey, input).toString('base64url')}`;
  }

  /** A token with any header and payload, signed by HMAC-SHA256 with `secret` (algorithm-confusion attacks). */
  static hmacToken(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Buffer): string {
    const input = `${b64(header)}.${b64(payload)}`;
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  }

  /** An unsigned token (`alg` as given, e.g. `none`), with an optional junk signature. */
  static unsignedToken(header: Record<string, unknown>, payload: Record<string, unknown>, signature = ''): string {
    return `${b64(header)}.${b64(payload)}.${signature}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }
}

function signWith(alg: string, key: KeyObject, input: string): Buffer {
  switch (alg) {
    case 'ES256':
      return sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    case 'PS256':
      return sign('sha256', Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    case 'EdDSA':
      return sign(null, Buffer.from(input), key);
    default:
      return sign('sha256', Buffer.from(input), key);
  }
}
