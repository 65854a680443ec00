import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCredentialsToken } from '@platform/dev-idp';
import { SecretsService, type SecretChange } from '@platform/secrets';
import { signWebhook } from '@apps/billing';
import { availableDatabases, runAdminSql, TestPlatform } from '../support/test-platform';

const V1 = `whsec-v1-${randomUUID()}`;
const V2 = `whsec-v2-${randomUUID()}`;

describe('secrets: one service, read at use, rotated without a restart', () => {
  let platform: TestPlatform;
  let dir: string;
  const responses: string[] = [];
  /** Replaces the secret file the way Kubernetes and Docker do: a new file renamed over the old one. */
  const replaceSecret = (value: string) => {
    const next = path.join(dir, `.billing-webhook-secret.${randomUUID()}`);
    writeFileSync(next, `${value}\n`);
    renameSync(next, path.join(dir, 'billing-webhook-secret'));
  };
  const deliver = async (secret: string) => {
    const body = `{"id":"evt_${randomUUID()}","type":"payment.settled","data":{"paymentId":"${randomUUID()}"}}`;
    const t = Math.floor(Date.now() / 1000);
    const response = await platform.request('POST', '/billing/webhooks/payments', {
      rawBody: body,
      headers: {
        'content-type': 'application/json',
        'platform-signature': `t=${t},v1=${signWebhook(secret, t, body)}`,
      },
    });
    responses.push(JSON.stringify(response.body));
    return response;
  };
  const nextChange = (expected: SecretChange) =>
    new Promise<void>((resolve) => {
      const off = platform.running.app.get(SecretsService).onChange((_name, change) => {
        if (change !== expected) return;
        off();
        resolve();
      });
    });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'secrets-'));
    writeFileSync(path.join(dir, 'billing-webhook-secret'), `${V1}\n`);
    platform = await TestPlatform.start({
      SECRETS_DIR: dir,
      SECRETS_POLL_INTERVAL_MS: '200',
      SECRETS_GRACE_SECONDS: '2',
    });
  });
  afterAll(async () => {
    await platform?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a replaced webhook secret is accepted within 2 s, the old one during the grace window and then refused; no request fails otherwise', async () => {
    expect((await deliver(V1)).status).toBe(200);
    // Requests keep flowing, signed with the old secret, while the file is replaced.
    let flowing = true;
    const statuses: number[] = [];
    const flow = (async () => {
      while (flowing) statuses.push((await deliver(V1)).status);
    })();
    const rotated = nextChange('rotated');
    const replacedAt = Date.now();
    replaceSecret(V2);
    await rotated;
    expect(Date.now() - replacedAt).toBeLessThan(2000);
    expect((await deliver(V2)).status).toBe(200);
    expect((await deliver(V1)).status).toBe(200);
    flowing = false;
    await flow;
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200)).toBe(true);

    // The grace window ends: the old secret is refused, the new one still accepted.
    await nextChange('previous_expired');
    expect((await deliver(V1)).body).toMatchObject({ status: 400, reason: 'invalid_signature' });
    expect((await deliver(V2)).status).toBe(200);
    const metrics = (
      await platform.request('GET', '/metrics', { token: await platform.clientToken('metrics-scraper') })
    ).body as string;
    expect(metrics).toMatch(/^platform_secret_rotations_total\{secret="billing-webhook-secret"\} 1$/m);
    expect(platform.logLines().find((l) => l.msg === 'Secret rotated')).toMatchObject({
      secretName: 'billing-webhook-secret',
      version: expect.stringMatching(/^[0-9a-f]{12}$/),
    });
  });

  it('an invalid new value is refused and the current one stays in use', async () => {
    const refused = nextChange('refused');
    replaceSecret('too-short');
    await refused;
    expect(
      platform.logLines().find((l) => l.msg === 'Secret change refused: the current value stays in use'),
    ).toMatchObject({ secretName: 'billing-webhook-secret', problem: 'must be at least 16 characters' });
    expect((await deliver(V2)).status).toBe(200);

    // The file missing for a moment (a non-atomic swap) never brings back the development default.
    const secrets = platform.running.app.get(SecretsService);
    rmSync(path.join(dir, 'billing-webhook-secret'));
    secrets.refresh();
    secrets.refresh();
    expect(secrets.get('billing-webhook-secret')).toBe(V2);
    replaceSecret(V2);
  });

  it('GET /platform/secrets names each secret, its source, version and consumers, never a value; no value in any log line or response', async () => {
    const olivia = await platform.userToken('olivia');
    const listed = await platform.request('GET', '/platform/secrets', { token: olivia });
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: 'billing-webhook-secret',
          source: 'secrets-dir',
          version: expect.stringMatching(/^[0-9a-f]{12}$/),
          consumers: [expect.stringContaining('webhooks')],
        }),
      ]),
    );
    // Optional secrets that are not configured are named as absent, not left out silently.
    expect(listed.body.absent).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'redis-password', consumers: expect.any(Array) })]),
    );
    expect(listed.body.items.map((s: { name: string }) => s.name)).not.toContain('redis-password');
    expect(
      (await platform.request('GET', '/platform/secrets', { token: await platform.userToken('alice') })).status,
    ).toBe(403);
    const everything = [JSON.stringify(listed.body), ...responses, platform.logs.join('')].join('\n');
    for (const value of [V1, V2]) expect(everything).not.toContain(value);
  });
});

describe('secrets at start-up', () => {
  it('refuses to start without a required secret, or with an invalid one, naming it and never its value', async () => {
    await expect(
      TestPlatform.start({
        NODE_ENV: 'production',
        OIDC_ISSUER: 'https://127.0.0.1:9',
        OIDC_AUDIENCE: 'api',
        PUBLIC_ORIGIN: 'https://api.example.com',
        OIDC_HTTP_TIMEOUT_MS: '200',
        ENABLED_APPS: 'billing',
      }),
    ).rejects.toThrow(/billing-webhook-secret: missing/);
    const error = await TestPlatform.start({ BILLING_WEBHOOK_SECRET: 'tiny-val' }).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(String(error)).toContain('billing-webhook-secret: must be at least 16 characters');
    expect(String(error)).not.toContain('tiny-val');
  });
});

describe("the development provider's signing key as a rotating secret", () => {
  let platform: TestPlatform;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'secrets-idp-'));
    platform = await TestPlatform.start({ SECRETS_DIR: dir, SECRETS_POLL_INTERVAL_MS: '200' });
  });
  afterAll(async () => {
    await platform?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a new key is published before it signs; new tokens verify through the unknown-kid refetch, old ones until they expire', async () => {
    const kidOf = (token: string) =>
      (JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()) as { kid: string }).kid;
    const before = await platform.userToken('bob');
    expect((await platform.request('GET', '/billing/invoices', { token: before })).status).toBe(200);

    const { privateKey: pemText } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const rotated = new Promise<void>((resolve) => {
      const off = platform.running.app.get(SecretsService).onChange((name, change) => {
        if (name === 'dev-idp-signing-key' && change === 'rotated') {
          off();
          resolve();
        }
      });
    });
    writeFileSync(path.join(dir, 'dev-idp-signing-key'), pemText);
    await rotated;

    const after = await platform.userToken('bob');
    expect(kidOf(after)).not.toBe(kidOf(before));
    const jwks = (await (await fetch(`${platform.issuer}/jwks`)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([kidOf(before), kidOf(after)]));
    const fresh = await platform.request('GET', '/billing/invoices', { token: after });
    expect(fresh.status).toBe(200);
    expect((await platform.request('GET', '/billing/invoices', { token: before })).status).toBe(200);
    const pemBody = pemText.split('\n')[1];
    expect(platform.logs.join('')).not.toContain(pemBody);
    expect(
      platform
        .logLines()
        .some((l) => l.msg === 'JWKS loaded' && (l.added as string[] | undefined)?.includes(kidOf(after))),
    ).toBe(true);
  });
});

describe.runIf(availableDatabases().includes('postgres'))('the PostgreSQL password as a rotating secret', () => {
  it('the role password and the secret file change together: the platform keeps serving without a restart', async () => {
    const admin = process.env.TEST_DATABASE_URL as string;
    const role = `rot_${randomUUID().slice(0, 8)}`;
    const run = runAdminSql;
    await run(`CREATE ROLE ${role} LOGIN PASSWORD 'first-password-1'`);
    await run(`CREATE DATABASE ${role} OWNER ${role}`);
    const dir = mkdtempSync(path.join(tmpdir(), 'secrets-db-'));
    writeFileSync(path.join(dir, 'database-password'), 'first-password-1\n');
    const url = new URL(admin);
    url.username = role;
    url.password = '';
    url.pathname = `/${role}`;
    const platform = await TestPlatform.start({
      SECRETS_DIR: dir,
      SECRETS_POLL_INTERVAL_MS: '200',
      DATABASE_URL: url.toString(),
    });
    try {
      const bob = await platform.userToken('bob');
      expect((await platform.request('GET', '/billing/invoices', { token: bob })).status).toBe(200);
      let flowing = true;
      const statuses: number[] = [];
      const flow = (async () => {
        while (flowing) statuses.push((await platform.request('GET', '/billing/invoices', { token: bob })).status);
      })();
      const rotated = new Promise<void>((resolve) => {
        const off = platform.running.app.get(SecretsService).onChange((name, change) => {
          if (name === 'database-password' && change === 'rotated') {
            off();
            resolve();
          }
        });
      });
      await run(`ALTER ROLE ${role} PASSWORD 'second-password-2'`);
      writeFileSync(path.join(dir, 'database-password'), 'second-password-2\n');
      await rotated;
      // New connections after the rotation (a burst beyond the idle ones) still work.
      const burst = await Promise.all(
        Array.from({ length: 20 }, () => platform.request('GET', '/billing/invoices', { token: bob })),
      );
      flowing = false;
      await flow;
      expect([...statuses, ...burst.map((r) => r.status)].every((s) => s === 200)).toBe(true);
      expect(platform.logs.join('')).not.toMatch(/first-password-1|second-password-2/);
      const secrets = (
        await platform.request('GET', '/platform/secrets', { token: await platform.userToken('olivia') })
      ).body.items;
      expect(secrets).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'database-password', source: 'secrets-dir', rotatedAt: expect.any(String) }),
        ]),
      );
    } finally {
      await platform.close();
      rmSync(dir, { recursive: true, force: true });
      await run(`DROP DATABASE IF EXISTS ${role} WITH (FORCE)`);
      await run(`DROP ROLE IF EXISTS ${role}`);
    }
  });
});

describe('the leak check every e2e suite runs at its end', () => {
  it("fails a suite whose platform log holds a secret's value", async () => {
    const platform = await TestPlatform.start({ BILLING_WEBHOOK_SECRET: 'leak-check-secret-value-1234' });
    // As if a line had escaped redaction.
    platform.logs.push('{"msg":"oops","value":"leak-check-secret-value-1234"}\n');
    await expect(platform.close()).rejects.toThrow(
      'the value of secret "billing-webhook-secret" appears in the platform\'s log',
    );
  });
});

describe("the development provider's seeded client secrets", () => {
  it('come from the secrets service and follow its rotations', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'secrets-clients-'));
    const first = `ingest-bot-first-${randomUUID()}`;
    const second = `ingest-bot-second-${randomUUID()}`;
    writeFileSync(path.join(dir, 'dev-client-ingest-bot-secret'), first);
    const platform = await TestPlatform.start({ SECRETS_DIR: dir, SECRETS_POLL_INTERVAL_MS: '200' });
    try {
      const token = (clientSecret: string) =>
        clientCredentialsToken(
          platform.issuer,
          { clientId: 'ingest-bot', clientSecret, scopes: ['analytics:events:write'] },
          platform.audience,
        );
      await expect(platform.clientToken('ingest-bot')).rejects.toThrow(/invalid_client/);
      const withFirst = await token(first);
      expect(
        (
          await platform.request('POST', '/analytics/events', {
            token: withFirst,
            body: { events: [{ name: 'x', timestamp: '2026-11-30T10:00:00Z' }] },
          })
        ).status,
      ).toBe(202);

      const rotated = new Promise<void>((resolve) => {
        const off = platform.running.app.get(SecretsService).onChange((name, change) => {
          if (name === 'dev-client-ingest-bot-secret' && change === 'rotated') {
            off();
            resolve();
          }
        });
      });
      writeFileSync(path.join(dir, 'dev-client-ingest-bot-secret'), second);
      await rotated;
      expect(await token(second)).toMatch(/^eyJ/);
      await expect(token(first)).rejects.toThrow(/invalid_client/);
    } finally {
      await platform.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
