import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { AddressInfo } from 'node:net';

/** The `aud` of every bench token and the platform's `OIDC_AUDIENCE`. */
export const AUDIENCE = 'bench-api';

export interface Issuer {
  url: string;
  server: Server;
  key: KeyObject;
  kid: string;
}

export async function startIssuer(): Promise<Issuer> {
  // As PEM, then parsed: a JWK exported from a freshly generated KeyObject can deadlock Node 20.
  const pem = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const [privateKey, publicKey] = [createPrivateKey(pem.privateKey), createPublicKey(pem.publicKey)];
  const kid = 'bench-k1';
  const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' }] });
  let url = '';
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration')
      res.end(JSON.stringify({ issuer: url, jwks_uri: `${url}/jwks` }));
    else if (req.url === '/jwks') res.end(jwks);
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, server, key: privateKey, kid };
}

export function signToken(issuer: Issuer, claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'RS256', typ: 'at+jwt', kid: issuer.kid })}.${b64({ iss: issuer.url, aud: AUDIENCE, iat: now, exp: now + 3600, jti: randomBytes(8).toString('hex'), ...claims })}`;
  return `${input}.${sign('sha256', Buffer.from(input), issuer.key).toString('base64url')}`;
}

/** Users (role admin) and machine clients (scopes), all in tenant acme, all allowed on every route measured. */
export function makeTokens(issuer: Issuer, count: number): string[] {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 4 === 3) {
      const client = `bench-bot-${i % 50}`;
      tokens.push(
        signToken(issuer, {
          sub: client,
          client_id: client,
          tenant: 'acme',
          roles: ['admin'],
          scope: 'billing:invoices:read analytics:events:write',
        }),
      );
    } else {
      tokens.push(
        signToken(issuer, { sub: `bench-user-${i}`, client_id: 'bench-web', tenant: 'acme', roles: ['admin'] }),
      );
    }
  }
  return tokens;
}

/**
 * The signing loop of `signToken`, as plain JavaScript for `Worker` `eval` (the bench runs under
 * tsx, whose loader a worker would not have): signs `claims[i]` with the RS256 key it is given.
 */
const SIGNING_WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const { randomBytes, sign } = require('node:crypto');
const { key, kid, iss, aud, claims } = workerData;
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = Math.floor(Date.now() / 1000);
const header = b64({ alg: 'RS256', typ: 'at+jwt', kid });
parentPort.postMessage(claims.map((c) => {
  const input = header + '.' + b64({ iss, aud, iat: now, exp: now + 3600, jti: randomBytes(8).toString('hex'), ...c });
  return input + '.' + sign('sha256', Buffer.from(input), key).toString('base64url');
}));
`;

/**
 * `count` tokens the platform has never seen: people (so that just-in-time provisioning happens),
 * distinct subjects `<prefix>-<i>`, with email and name claims as an OIDC provider sends them,
 * role admin in tenant acme. RS256 signing (about 1 ms a token) is spread over worker threads, one
 * per core: the very tokens (key size, claims) a provider would issue, only faster to make.
 */
export async function makeFirstSeenTokens(issuer: Issuer, prefix: string, count: number): Promise<string[]> {
  const claims = Array.from({ length: count }, (_, i) => ({
    sub: `${prefix}-${i}`,
    client_id: 'bench-web',
    tenant: 'acme',
    roles: ['admin'],
    email: `${prefix}-${i}@acme.bench`,
    name: `Bench User ${i}`,
  }));
  const threads = Math.max(1, Math.min(cpus().length, Math.ceil(count / 200)));
  const share = Math.ceil(count / threads);
  const parts = await Promise.all(
    Array.from(
      { length: threads },
      (_, t) =>
        new Promise<string[]>((resolve, reject) => {
          const worker = new Worker(SIGNING_WORKER, {
            eval: true,
            workerData: {
              key: issuer.key,
              kid: issuer.kid,
              iss: issuer.url,
              aud: AUDIENCE,
              claims: claims.slice(t * share, (t + 1) * share),
            },
          });
          worker.once('message', (tokens: string[]) => {
            resolve(tokens);
            void worker.terminate();
          });
          worker.once('error', reject);
        }),
    ),
  );
  return parts.flat();
}
