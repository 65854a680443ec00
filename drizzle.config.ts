import { defineConfig } from 'drizzle-kit';

/** One schema, one migration set, for PGlite and PostgreSQL alike. `npm run db:generate` after a schema change. */
export default defineConfig({
  dialect: 'postgresql',
  schema: ['./libs/*/src/**/*.schema.ts', './apps/*/src/**/*.schema.ts'],
  out: './migrations',
});
