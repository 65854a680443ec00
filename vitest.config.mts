import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const root = path.dirname(fileURLToPath(import.meta.url));
const r = (p: string) => path.resolve(root, p);

export default defineConfig({
  plugins: [
    // Nest needs decorator metadata, which esbuild does not emit.
    swc.vite({
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
      },
    }),
  ],
  resolve: {
    alias: {
      '@platform/auth': r('libs/auth/src'),
      '@platform/audit': r('libs/audit/src'),
      '@platform/config': r('libs/config/src'),
      '@platform/database': r('libs/database/src'),
      '@platform/http': r('libs/http/src'),
      '@platform/dev-idp': r('libs/dev-idp/src'),
      '@platform/observability': r('libs/observability/src'),
      '@platform/idempotency': r('libs/idempotency/src'),
      '@platform/redis': r('libs/redis/src'),
      '@platform/secrets': r('libs/secrets/src'),
      '@platform/logging': r('libs/logging/src'),
      '@platform/feature-apps': r('libs/feature-apps/src'),
      '@apps/billing': r('apps/billing/src'),
      '@apps/analytics': r('apps/analytics/src'),
      '@apps/user-management': r('apps/user-management/src'),
    },
  },
  test: {
    // Against a deployed platform (PLATFORM_URL) only the remote-capable suites run; the others
    // need the platform's process (logs, restarts, faults) and global-setup says they were skipped.
    include: process.env.PLATFORM_URL
      ? ['test/e2e/remote/**/*.e2e-spec.ts']
      : ['{apps,libs,src}/**/*.spec.ts', 'test/**/*.e2e-spec.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
