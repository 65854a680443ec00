import { describe, expect, it } from 'vitest';
import type { LoggerService } from '@nestjs/common';
import { parsePlatformConfig } from '@platform/config';
import { findPortHolder } from './port-in-use';
import { quietStartupLogger, startSummary } from './start-log';

describe('start summary', () => {
  it('names the database and cache without their credentials', () => {
    const config = parsePlatformConfig({
      NODE_ENV: 'test',
      DATABASE_URL: 'postgres://app:db-pass-123@db.internal:5432/platform?sslmode=require',
      REDIS_URL: 'redis://:redis-pass-456@cache.internal:6379/0',
      OIDC_ISSUER: 'https://login.example.com/',
      OIDC_AUDIENCE: 'api://platform',
    });
    const summary = startSummary('http://127.0.0.1:3000', config, false);
    expect(summary).toMatchObject({
      database: 'PostgreSQL postgres://db.internal:5432/platform',
      cache: 'Redis redis://cache.internal:6379/0',
      openapi: 'http://127.0.0.1:3000/docs',
    });
    expect(summary.provider).toContain('https://login.example.com/ (external)');
    expect(summary.token).toContain('api://platform');
    expect(JSON.stringify(summary)).not.toMatch(/db-pass-123|redis-pass-456|sslmode/);
  });
});

describe('quiet start-up logger', () => {
  it("writes Nest's module and route lines at debug, everything else unchanged", () => {
    const calls: [string, unknown[]][] = [];
    const inner = Object.fromEntries(
      ['log', 'error', 'warn', 'debug', 'verbose', 'fatal'].map((level) => [
        level,
        (...args: unknown[]) => calls.push([level, args]),
      ]),
    ) as unknown as LoggerService;
    const logger = quietStartupLogger(inner);
    logger.log('Mapped {/billing/invoices, GET} route', 'RouterExplorer');
    logger.log('BillingModule dependencies initialized', 'InstanceLoader');
    logger.log('Nest application successfully started', 'NestApplication');
    logger.warn('careful', 'PolicyService');
    expect(calls.map(([level, args]) => [level, args.at(-1)])).toEqual([
      ['debug', 'RouterExplorer'],
      ['debug', 'InstanceLoader'],
      ['log', 'NestApplication'],
      ['warn', 'PolicyService'],
    ]);
  });
});

describe('port holder', () => {
  it('finds nobody on a port nothing listens on, without throwing', () => {
    // Port 1 (tcpmux) is not served on a development or CI machine.
    expect(findPortHolder(1)).toBeUndefined();
  });
});
