import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` writes SQL migrations for the regional ledger. Review each generated file
// for CockroachDB compatibility (no serial, no sequences) before committing it.
export default defineConfig({
  dialect: 'postgresql',
  schema: './regional/db/schema.ts',
  out: './migrations',
  strict: true,
  verbose: true,
});
