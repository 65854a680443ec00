import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { PoolConfig } from 'pg';
import { PGLITE_TEMPLATE_ENV } from '../../../test/support/global-setup';
import { EmbeddedPglite } from './embedded-pglite';

/** A database a spec runs against. */
export interface SpecTarget {
  config: PoolConfig;
  /** Whether all connections share one backend (PGlite): its statement cache is then shared too. */
  shared: boolean;
  close(): Promise<void>;
}

/**
 * The databases a spec of this lib runs on, for `describe.each`: a copy of the migrated PGlite
 * template (global setup) in a worker, and PostgreSQL when `TEST_DATABASE_URL` is set.
 *
 * @param prefix name of the temporary folder of the PGlite copy
 */
export function specTargets(prefix: string): Array<[string, () => Promise<SpecTarget>]> {
  const embedded = async (): Promise<SpecTarget> => {
    const dir = mkdtempSync(path.join(tmpdir(), `${prefix}-`));
    cpSync(process.env[PGLITE_TEMPLATE_ENV] as string, dir, { recursive: true });
    const engine = await EmbeddedPglite.start(path.join(dir, 'pglite'));
    return {
      config: engine.poolConfig(),
      shared: true,
      close: async () => {
        await engine.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
  const targets: Array<[string, () => Promise<SpecTarget>]> = [['PGlite', embedded]];
  const connectionString = process.env.TEST_DATABASE_URL;
  if (connectionString) {
    targets.push([
      'PostgreSQL',
      async () => ({ config: { connectionString }, shared: false, close: async () => undefined }),
    ]);
  }
  return targets;
}
