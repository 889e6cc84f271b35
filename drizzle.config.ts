import { defineConfig } from 'drizzle-kit';

// Migrations are generated from db/schema and committed; the app applies them at start
// (src/store/migrate.ts) on PGlite and on PostgreSQL alike.
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema/index.ts',
  out: './db/migrations',
});
