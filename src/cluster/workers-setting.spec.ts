import { describe, expect, it } from 'vitest';
import { ConfigError } from '@platform/config';
import { resolveWorkerCount } from './workers-setting';

const SHARED = {
  DATABASE_URL: 'postgres://db/platform',
  REDIS_URL: 'redis://cache:6379',
  OIDC_ISSUER: 'https://idp.example',
};

describe('WORKERS', () => {
  it('is one process when unset, and on the embedded database even with auto', () => {
    expect(resolveWorkerCount({}, 8)).toBe(1);
    expect(resolveWorkerCount({ WORKERS: 'auto' }, 8)).toBe(1);
  });

  it('auto is one worker per core on PostgreSQL; a number is taken as is', () => {
    expect(resolveWorkerCount({ ...SHARED, WORKERS: 'auto' }, 4)).toBe(4);
    expect(resolveWorkerCount({ ...SHARED, WORKERS: '3' }, 2)).toBe(3);
    expect(resolveWorkerCount({ WORKERS: '1' }, 2)).toBe(1);
  });

  it('refuses a value that is not auto or 1-64, naming the variable', () => {
    for (const bad of ['0', '-2', '65', 'two', '1.5']) {
      expect(() => resolveWorkerCount({ ...SHARED, WORKERS: bad }, 2)).toThrow(
        /WORKERS must be "auto" or a whole number from 1 to 64/,
      );
    }
  });

  it('several workers need PostgreSQL, Redis and a configured issuer, each named', () => {
    let error: unknown;
    try {
      resolveWorkerCount({ WORKERS: '2' }, 2);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.stringContaining('WORKERS=2 needs DATABASE_URL'),
      expect.stringContaining('WORKERS=2 needs REDIS_URL'),
      expect.stringContaining('WORKERS=2 needs a configured issuer'),
    ]);
    expect(() => resolveWorkerCount({ ...SHARED, REDIS_URL: undefined, WORKERS: '2' }, 2)).toThrow(/needs REDIS_URL/);
  });
});
