import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, parsePlatformConfig } from './platform-config';

describe('token lifetime cap and rate-limit instances (configuration)', () => {
  it('caps token lifetime at 24 h by default; OIDC_MAX_TOKEN_LIFETIME_SECONDS changes it, 0 turns it off', () => {
    expect(DEFAULT_MAX_TOKEN_LIFETIME_SECONDS).toBe(86_400);
    expect(parsePlatformConfig({}).oidc.maxTokenLifetimeSeconds).toBe(86_400);
    expect(parsePlatformConfig({ OIDC_MAX_TOKEN_LIFETIME_SECONDS: '3600' }).oidc.maxTokenLifetimeSeconds).toBe(3600);
    expect(parsePlatformConfig({ OIDC_MAX_TOKEN_LIFETIME_SECONDS: '0' }).oidc.maxTokenLifetimeSeconds).toBe(0);
  });

  it('refuses a lifetime cap that is not a whole number of seconds up to a year', () => {
    for (const value of ['-1', '1.5', 'day', String(367 * 24 * 3600)]) {
      expect(() => parsePlatformConfig({ OIDC_MAX_TOKEN_LIFETIME_SECONDS: value })).toThrow(ConfigError);
      expect(() => parsePlatformConfig({ OIDC_MAX_TOKEN_LIFETIME_SECONDS: value })).toThrow(
        /OIDC_MAX_TOKEN_LIFETIME_SECONDS must be an integer between 0 and 31622400/,
      );
    }
  });

  it('RATE_LIMIT_INSTANCES defaults to 1 and must be an integer from 1 to 1000', () => {
    expect(parsePlatformConfig({}).rateLimitInstances).toBe(1);
    expect(parsePlatformConfig({ RATE_LIMIT_INSTANCES: '4' }).rateLimitInstances).toBe(4);
    for (const value of ['0', '-2', 'two', '1001', '2.5']) {
      expect(() => parsePlatformConfig({ RATE_LIMIT_INSTANCES: value })).toThrow(
        /RATE_LIMIT_INSTANCES must be an integer between 1 and 1000/,
      );
    }
  });

  it('VERIFIED_TOKEN_CACHE_SIZE defaults to 50,000 and must be an integer from 100 to 10,000,000', () => {
    expect(parsePlatformConfig({}).verifiedTokenCacheSize).toBe(50_000);
    expect(parsePlatformConfig({ VERIFIED_TOKEN_CACHE_SIZE: '250000' }).verifiedTokenCacheSize).toBe(250_000);
    for (const value of ['0', '99', '-5', 'many', '1.5', '10000001']) {
      expect(() => parsePlatformConfig({ VERIFIED_TOKEN_CACHE_SIZE: value })).toThrow(
        /VERIFIED_TOKEN_CACHE_SIZE must be an integer between 100 and 10000000/,
      );
    }
  });
});
