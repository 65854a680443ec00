import * as path from 'node:path';
import { describe, it, expect } from 'vitest';
import { ConfigError, DEFAULT_ALGORITHMS, parsePlatformConfig } from './platform-config';

const CWD = path.resolve('/srv/platform');
type Env = Record<string, string | undefined>;

/** Parses `env`, expects a ConfigError, and returns it. */
function configErrorOf(env: Env): ConfigError {
  try {
    parsePlatformConfig(env, CWD);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, but the configuration parsed');
}

const EXTERNAL = {
  OIDC_ISSUER: 'https://idp.example.com/realms/acme',
  OIDC_AUDIENCE: 'platform-api',
  PUBLIC_ORIGIN: 'https://api.example.com',
};

describe('parsePlatformConfig', () => {
  describe('defaults with an empty environment', () => {
    const config = parsePlatformConfig({}, CWD);

    it('serves on 0.0.0.0:3000 in development', () => {
      expect(config.env).toBe('development');
      expect(config.host).toBe('0.0.0.0');
      expect(config.port).toBe(3000);
    });

    it('uses the generic preset, the pinned asymmetric algorithms and 30 s of clock tolerance', () => {
      expect(config.oidc.preset).toBe('generic');
      expect(config.oidc.algorithms).toEqual(['RS256', 'PS256', 'ES256', 'EdDSA']);
      expect(config.oidc.algorithms).toEqual([...DEFAULT_ALGORITHMS]);
      expect(config.oidc.clockToleranceSeconds).toBe(30);
    });

    it('has no issuer (development provider) and the audience urn:platform:api', () => {
      expect(config.oidc.issuer).toBeUndefined();
      expect(config.oidc.audiences).toEqual(['urn:platform:api']);
      expect(config.oidc.clientIds).toEqual([]);
    });

    it('uses the embedded database and resolves files against cwd', () => {
      expect(config.databaseUrl).toBeUndefined();
      expect(config.dataDir).toBe(path.join(CWD, 'data'));
      expect(config.policyFile).toBe(path.join(CWD, 'config/policy.yaml'));
    });

    it('does not share the default algorithm list with the module constant', () => {
      expect(config.oidc.algorithms).not.toBe(DEFAULT_ALGORITHMS);
    });
  });

  it('treats blank variables as unset', () => {
    const config = parsePlatformConfig({ PORT: '  ', OIDC_PRESET: '', OIDC_ALGORITHMS: ' ' }, CWD);
    expect(config.port).toBe(3000);
    expect(config.oidc.preset).toBe('generic');
    expect(config.oidc.algorithms).toEqual([...DEFAULT_ALGORITHMS]);
  });

  describe('OIDC_ALGORITHMS', () => {
    it.each(['HS256', 'none', 'RS256,HS512', 'RS256, none'])('rejects %s, naming OIDC_ALGORITHMS', (value) => {
      const err = configErrorOf({ OIDC_ALGORITHMS: value });
      expect(err.problems).toHaveLength(1);
      expect(err.problems[0]).toContain('OIDC_ALGORITHMS');
      expect(err.message).toContain('OIDC_ALGORITHMS');
    });

    it('reports every refused algorithm', () => {
      const err = configErrorOf({ OIDC_ALGORITHMS: 'HS256,none' });
      expect(err.problems).toHaveLength(2);
      expect(err.problems[0]).toContain('"HS256"');
      expect(err.problems[1]).toContain('"none"');
    });

    it('is case-sensitive (rs256 is not RS256)', () => {
      expect(configErrorOf({ OIDC_ALGORITHMS: 'rs256' }).problems[0]).toContain('OIDC_ALGORITHMS');
    });

    it('accepts a comma list of asymmetric algorithms, trimming blanks', () => {
      expect(parsePlatformConfig({ OIDC_ALGORITHMS: ' ES384 , PS512,EdDSA ' }, CWD).oidc.algorithms).toEqual([
        'ES384',
        'PS512',
        'EdDSA',
      ]);
    });
  });

  describe('logs and the audit journal', () => {
    it('allows pretty logs in development only, and no unknown format', () => {
      expect(parsePlatformConfig({ LOG_FORMAT: 'pretty' }, CWD).logFormat).toBe('pretty');
      expect(parsePlatformConfig({}, CWD).logFormat).toBe('auto');
      expect(configErrorOf({ NODE_ENV: 'production', ...EXTERNAL, LOG_FORMAT: 'pretty' }).problems).toEqual([
        expect.stringContaining('LOG_FORMAT=pretty is for development only'),
      ]);
      expect(configErrorOf({ LOG_FORMAT: 'xml' }).problems).toEqual(['LOG_FORMAT must be json, pretty or auto']);
    });

    it('keeps the audit journal under DATA_DIR unless AUDIT_JOURNAL_DIR says otherwise', () => {
      expect(parsePlatformConfig({ DATA_DIR: 'var' }, CWD).audit.journalDir).toBe(
        path.join(CWD, 'var', 'audit-journal'),
      );
      expect(parsePlatformConfig({ AUDIT_JOURNAL_DIR: '/mnt/journal' }, CWD).audit.journalDir).toBe(
        path.resolve('/mnt/journal'),
      );
      expect(configErrorOf({ AUDIT_QUEUE_LIMIT: '10' }).problems).toEqual([
        expect.stringContaining('AUDIT_QUEUE_LIMIT'),
      ]);
    });

    it('makes audit records durable in the write-ahead log before the response unless AUDIT_DURABILITY says otherwise; leases idempotency keys for 30 s by default', () => {
      expect(parsePlatformConfig({}, CWD).audit.durability).toBe('journal');
      expect(parsePlatformConfig({ AUDIT_DURABILITY: 'before-response' }, CWD).audit.durability).toBe(
        'before-response',
      );
      expect(parsePlatformConfig({ AUDIT_DURABILITY: 'async' }, CWD).audit.durability).toBe('async');
      expect(configErrorOf({ AUDIT_DURABILITY: 'later' }).problems).toEqual([
        'AUDIT_DURABILITY must be one of journal, before-response, async',
      ]);
      expect(parsePlatformConfig({}, CWD).idempotencyLeaseMs).toBe(30_000);
      expect(configErrorOf({ IDEMPOTENCY_LEASE_MS: '10' }).problems).toEqual([
        expect.stringContaining('IDEMPOTENCY_LEASE_MS'),
      ]);
    });
  });

  describe('NODE_ENV', () => {
    it('rejects production without OIDC_ISSUER', () => {
      const err = configErrorOf({ NODE_ENV: 'production', PUBLIC_ORIGIN: 'https://api.example.com' });
      expect(err.problems).toEqual([expect.stringContaining('OIDC_ISSUER is required when NODE_ENV=production')]);
    });

    it('rejects production without PUBLIC_ORIGIN, and a PUBLIC_ORIGIN with a path', () => {
      const { PUBLIC_ORIGIN: _origin, ...withoutOrigin } = EXTERNAL;
      expect(configErrorOf({ NODE_ENV: 'production', ...withoutOrigin }).problems).toEqual([
        expect.stringContaining('PUBLIC_ORIGIN is required when NODE_ENV=production'),
      ]);
      expect(configErrorOf({ ...EXTERNAL, PUBLIC_ORIGIN: 'https://api.example.com/v1' }).problems).toEqual([
        expect.stringContaining('PUBLIC_ORIGIN must be an origin'),
      ]);
      expect(
        parsePlatformConfig({ ...EXTERNAL, PUBLIC_ORIGIN: 'HTTPS://API.example.com:443' }, CWD).dpop.publicOrigin,
      ).toBe('https://api.example.com');
    });

    it('reads CORS_ALLOWED_ORIGINS as exact origins (none by default); a wildcard or a path is refused', () => {
      expect(parsePlatformConfig(EXTERNAL, CWD).corsAllowedOrigins).toEqual([]);
      expect(
        parsePlatformConfig(
          { ...EXTERNAL, CORS_ALLOWED_ORIGINS: 'https://App.example.com:443, http://localhost:5173' },
          CWD,
        ).corsAllowedOrigins,
      ).toEqual(['https://app.example.com', 'http://localhost:5173']);
      for (const bad of ['*', 'https://*.example.com', 'https://app.example.com/path', 'app.example.com']) {
        expect(configErrorOf({ ...EXTERNAL, CORS_ALLOWED_ORIGINS: bad }).problems, bad).toEqual([
          expect.stringContaining('CORS_ALLOWED_ORIGINS'),
        ]);
      }
    });

    it('accepts production with an external issuer', () => {
      const config = parsePlatformConfig({ NODE_ENV: 'production', ...EXTERNAL }, CWD);
      expect(config.env).toBe('production');
      expect(config.oidc.issuer).toBe(EXTERNAL.OIDC_ISSUER);
    });

    it('keeps test', () => {
      expect(parsePlatformConfig({ NODE_ENV: 'test' }, CWD).env).toBe('test');
    });
  });

  describe('an external OIDC_ISSUER', () => {
    it('requires OIDC_AUDIENCE', () => {
      const err = configErrorOf({ OIDC_ISSUER: EXTERNAL.OIDC_ISSUER });
      expect(err.problems).toEqual([expect.stringContaining('OIDC_AUDIENCE is required')]);
    });

    it('does not fall back to the development audience', () => {
      const err = configErrorOf({ OIDC_ISSUER: EXTERNAL.OIDC_ISSUER, OIDC_AUDIENCE: ' , ' });
      expect(err.problems[0]).toContain('OIDC_AUDIENCE');
    });

    it('must be an http(s) URL', () => {
      const err = configErrorOf({ OIDC_ISSUER: 'idp.example.com', OIDC_AUDIENCE: 'api' });
      expect(err.problems).toEqual(['OIDC_ISSUER must be an http(s) URL']);
    });

    it('splits OIDC_AUDIENCE on commas, trimming and dropping empty entries', () => {
      const config = parsePlatformConfig(
        { OIDC_ISSUER: EXTERNAL.OIDC_ISSUER, OIDC_AUDIENCE: 'api-1, https://api.example.com ,,api-3' },
        CWD,
      );
      expect(config.oidc.audiences).toEqual(['api-1', 'https://api.example.com', 'api-3']);
    });

    it('splits OIDC_CLIENT_ID on commas', () => {
      expect(parsePlatformConfig({ ...EXTERNAL, OIDC_CLIENT_ID: 'a,b' }, CWD).oidc.clientIds).toEqual(['a', 'b']);
    });
  });

  describe('OIDC_REQUIRE_AT_JWT', () => {
    it('is on with the development provider (it types its access tokens at+jwt), off by default for an external issuer', () => {
      expect(parsePlatformConfig({}, CWD).oidc.requireAccessTokenType).toBe(true);
      expect(parsePlatformConfig(EXTERNAL, CWD).oidc.requireAccessTokenType).toBe(false);
      expect(parsePlatformConfig({ ...EXTERNAL, OIDC_REQUIRE_AT_JWT: 'true' }, CWD).oidc.requireAccessTokenType).toBe(
        true,
      );
    });
    it('accepts only true or false', () => {
      expect(configErrorOf({ ...EXTERNAL, OIDC_REQUIRE_AT_JWT: 'yes' }).problems).toEqual([
        'OIDC_REQUIRE_AT_JWT must be true or false',
      ]);
    });
  });

  describe('OIDC_PRESET', () => {
    it('rejects cognito without OIDC_CLIENT_ID', () => {
      const err = configErrorOf({
        OIDC_ISSUER: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc',
        OIDC_PRESET: 'cognito',
      });
      expect(err.problems).toEqual([expect.stringContaining('OIDC_CLIENT_ID is required with OIDC_PRESET=cognito')]);
    });

    it('accepts cognito with OIDC_CLIENT_ID and no audience', () => {
      const config = parsePlatformConfig(
        {
          OIDC_ISSUER: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc',
          OIDC_PRESET: 'cognito',
          OIDC_CLIENT_ID: 'client-1',
        },
        CWD,
      );
      expect(config.oidc.preset).toBe('cognito');
      expect(config.oidc.clientIds).toEqual(['client-1']);
      expect(config.oidc.audiences).toEqual([]);
    });

    it('rejects an unknown preset', () => {
      expect(configErrorOf({ OIDC_PRESET: 'ping' }).problems[0]).toContain('OIDC_PRESET');
    });
  });

  describe('integers', () => {
    it('reads PORT', () => {
      expect(parsePlatformConfig({ PORT: '8080' }, CWD).port).toBe(8080);
      expect(parsePlatformConfig({ PORT: '0' }, CWD).port).toBe(0);
    });

    it.each(['abc', '-1', '65536', '80.5', '3000abc'])('rejects PORT=%s', (value) => {
      const err = configErrorOf({ PORT: value });
      expect(err.problems).toEqual(['PORT must be an integer between 0 and 65535']);
    });

    it('bounds OIDC_CLOCK_TOLERANCE_SECONDS to 0..300', () => {
      expect(parsePlatformConfig({ OIDC_CLOCK_TOLERANCE_SECONDS: '300' }, CWD).oidc.clockToleranceSeconds).toBe(300);
      expect(configErrorOf({ OIDC_CLOCK_TOLERANCE_SECONDS: '301' }).problems[0]).toContain(
        'OIDC_CLOCK_TOLERANCE_SECONDS',
      );
    });
  });

  it('reports every problem at once', () => {
    const err = configErrorOf({
      NODE_ENV: 'production',
      PORT: 'x',
      OIDC_ALGORITHMS: 'none',
      PUBLIC_ORIGIN: 'https://api.example.com',
    });
    expect(err.problems).toHaveLength(3);
    expect(err.problems.join('\n')).toMatch(/OIDC_ISSUER/);
    expect(err.problems.join('\n')).toMatch(/PORT/);
    expect(err.problems.join('\n')).toMatch(/OIDC_ALGORITHMS/);
  });

  describe('DATABASE_URL', () => {
    it('accepts postgres:// and postgresql:// URLs', () => {
      expect(parsePlatformConfig({ DATABASE_URL: 'postgres://u:p@db/x' }, CWD).databaseUrl).toBe('postgres://u:p@db/x');
      expect(parsePlatformConfig({ DATABASE_URL: 'postgresql://u:p@db/x' }, CWD).databaseUrl).toBe(
        'postgresql://u:p@db/x',
      );
    });

    it('rejects another scheme without ever echoing the secret value', () => {
      const secret = 'mysql://user:hunter2@x/db';
      const err = configErrorOf({ DATABASE_URL: secret });
      expect(err.problems).toEqual([expect.stringContaining('DATABASE_URL')]);
      expect(err.message).toContain('DATABASE_URL');
      expect(err.message).not.toContain('hunter2');
      expect(err.message).not.toContain(secret);
      expect(err.problems.join('\n')).not.toContain('hunter2');
      expect(String(err)).not.toContain('hunter2');
    });
  });
});

describe('strictness added after review', () => {
  it('refuses an unknown NODE_ENV and an empty algorithm list', () => {
    expect(() => parsePlatformConfig({ NODE_ENV: 'prod' })).toThrow(/NODE_ENV must be/);
    expect(() => parsePlatformConfig({ OIDC_ALGORITHMS: ',' })).toThrow(/OIDC_ALGORITHMS must name/);
  });
});
