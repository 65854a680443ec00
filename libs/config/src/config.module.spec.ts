import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { PlatformConfigModule } from './config.module';
import { PlatformConfig } from './platform-config.provider';
import { parsePlatformConfig } from './platform-config';
import { ConfigError, validatePlatformEnv } from './validate-platform-env';

describe('PlatformConfigModule.fromEnvironment (ConfigModule.forRoot({ validate }))', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  });

  it('serves the typed configuration built from the validated process.env', async () => {
    process.env.PORT = '8123';
    process.env.OIDC_ALGORITHMS = 'ES256';
    const moduleRef = await Test.createTestingModule({
      imports: [PlatformConfigModule.fromEnvironment('/srv/platform')],
    }).compile();
    const config = moduleRef.get(PlatformConfig);
    expect(config.port).toBe(8123);
    expect(config.oidc.algorithms).toEqual(['ES256']);
    expect(config.policyFile).toBe('/srv/platform/config/policy.yaml');
    await moduleRef.close();
  });

  it('refuses to build the module when a variable is invalid, naming it and not its value', async () => {
    process.env.REDIS_URL = 'http://:s3cret-pw@cache:6379';
    const built = Test.createTestingModule({ imports: [PlatformConfigModule.fromEnvironment()] }).compile();
    const err = await built.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual(['REDIS_URL must be a redis:// or rediss:// URL']);
    expect(String(err)).not.toContain('s3cret-pw');
  });
});

describe('validatePlatformEnv', () => {
  it('returns the typed variables without adding defaults (ConfigModule copies them to process.env)', () => {
    const env = validatePlatformEnv({
      PORT: ' 8080 ',
      SERVICE_ACCOUNTS_REQUIRED: 'false',
      OIDC_AUDIENCE: 'a, b',
      HOST: '',
    });
    expect(env.PORT).toBe(8080);
    expect(env.SERVICE_ACCOUNTS_REQUIRED).toBe(false);
    expect(env.OIDC_AUDIENCE).toEqual(['a', 'b']);
    expect(
      Object.keys(env)
        .filter((name) => env[name as keyof typeof env] !== undefined)
        .sort(),
    ).toEqual(['OIDC_AUDIENCE', 'PORT', 'SERVICE_ACCOUNTS_REQUIRED']);
  });

  it('refuses TRUST_PROXY=true and an http:// JWKS URI in production', () => {
    expect(() => validatePlatformEnv({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
    const production = {
      NODE_ENV: 'production',
      OIDC_ISSUER: 'https://idp.example.com',
      OIDC_AUDIENCE: 'api',
      PUBLIC_ORIGIN: 'https://api.example.com',
    };
    expect(() => validatePlatformEnv(production)).not.toThrow();
    expect(() => validatePlatformEnv({ ...production, OIDC_ISSUER: 'http://idp.example.com' })).toThrow(
      /OIDC_ISSUER must be https:\/\/ when NODE_ENV=production/,
    );
    expect(() => validatePlatformEnv({ ...production, OIDC_JWKS_URI: 'http://idp.example.com/jwks' })).toThrow(
      /OIDC_JWKS_URI must be https:\/\/ when NODE_ENV=production/,
    );
  });
});

describe('toPlatformConfig (through parsePlatformConfig)', () => {
  it('reads TRUST_PROXY as false, a hop count or a list of proxies', () => {
    expect(parsePlatformConfig({}).trustProxy).toBe(false);
    expect(parsePlatformConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(parsePlatformConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(parsePlatformConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.1' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '192.168.1.1',
    ]);
  });
});
