/**
 * Commands that work on the database itself rather than through a running Bursar: `migrate`
 * (apply pending schema migrations, PostgreSQL or the local SQLite file) and
 * `copy-to-postgres` (move an embedded installation to PostgreSQL).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { clientSettings } from '../config/client.js';
import { formatAmount } from '../core/money.js';
import { recoverSpool } from '../ledger/writer.js';
import { copyStores } from '../store/copy.js';
import { migrate, pendingMigrations } from '../store/sql/migrations.js';
import { postgresDialect, sqliteDialect } from '../store/sql/dialect.js';
import { openSqlite } from '../store/sqlite/open.js';
import { CliError, type CliContext } from './client.js';

/** PostgreSQL's store, loaded only by the commands that use it (pg stays out of every other command). */
async function openPostgres(...args: Parameters<typeof import('../store/postgres/open.js').openPostgres>) {
  return (await import('../store/postgres/open.js')).openPostgres(...args);
}

interface Target {
  readonly url: string;
  readonly schema: string;
}

/** BURSAR_DATABASE_URL and BURSAR_DATABASE_SCHEMA, checked; null when no URL is set. */
function postgresTarget(env: NodeJS.ProcessEnv = process.env): Target | null {
  const url = env.BURSAR_DATABASE_URL;
  if (!url) return null;
  if (!/^postgres(ql)?:\/\//.test(url)) throw new CliError('BURSAR_DATABASE_URL must start with postgres:// or postgresql://');
  const schema = env.BURSAR_DATABASE_SCHEMA || 'public';
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(schema)) throw new CliError(`BURSAR_DATABASE_SCHEMA "${schema}" must be lower-case letters, digits and _`);
  return { url, schema };
}

export function registerDatabaseCommands(program: Command, ctx: CliContext): void {
  program
    .command('migrate')
    .description('apply pending schema migrations (PostgreSQL when BURSAR_DATABASE_URL is set, else the local SQLite file)')
    .option('--status', 'list pending migrations without applying them')
    .action(async (o: { status?: boolean }) => {
      const target = postgresTarget();
      const dataDir = clientSettings(program.opts()).dataDir;
      if (target) {
        // openPostgres applies them; with --status, open without migrating to list what is pending.
        if (o.status) {
          const { Kysely, PostgresDialect } = await import('kysely');
          const pg = (await import('pg')).default;
          const db = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: target.url, max: 1, options: `-c search_path=${target.schema}` }) }) });
          try {
            const pending = await pendingMigrations(db as never, postgresDialect, target.schema);
            ctx.print({ database: 'postgres', schema: target.schema, pending }, () => (pending.length ? `pending: ${pending.join(', ')}` : 'up to date'));
          } finally {
            await db.destroy();
          }
          return;
        }
        const stores = await openPostgres({ url: target.url, schema: target.schema, poolSize: 2 });
        await stores.close();
        ctx.print({ database: 'postgres', schema: target.schema, ok: true }, () => `PostgreSQL schema "${target.schema}" is up to date`);
        return;
      }
      const file = join(dataDir, 'bursar.db');
      const stores = await openSqlite(file);
      try {
        const applied = o.status ? [] : await migrate(stores.db, sqliteDialect);
        const pending = await pendingMigrations(stores.db, sqliteDialect);
        ctx.print({ database: 'sqlite', file, applied, pending }, () => `${file} is up to date${applied.length ? ` (applied ${applied.join(', ')})` : ''}`);
      } finally {
        await stores.close();
      }
    });

  program
    .command('copy-to-postgres')
    .description('copy the local SQLite installation (ledger, keys, budgets, audit log) into the PostgreSQL of BURSAR_DATABASE_URL; stop Bursar first')
    .option('--from <dir>', 'the data folder to copy (default BURSAR_DATA_DIR, or ./data)')
    .action(async (o: { from?: string }) => {
      const target = postgresTarget();
      if (!target) throw new CliError('set BURSAR_DATABASE_URL (postgres://user:password@host:5432/db) to the database to copy into');
      const dataDir = o.from ?? clientSettings(program.opts()).dataDir;
      const file = join(dataDir, 'bursar.db');
      if (!existsSync(file)) throw new CliError(`no SQLite database at ${file}; pass --from <data folder>`);
      const source = await openSqlite(file);
      const dest = await openPostgres({ url: target.url, schema: target.schema, poolSize: 4 });
      try {
        // Lines a stopped Bursar left in its spool go into the source first, so they are copied too.
        const recovered = await recoverSpool(source.ledger, join(dataDir, 'spool'));
        const report = await copyStores(source, dest, (n) => {
          if (!ctx.json() && n % 100_000 === 0) process.stderr.write(`  ${n} lines...\n`);
        });
        ctx.print({ ...report, recovered_from_spool: recovered.added, schema: target.schema }, () =>
          [
            `copied ${file} to PostgreSQL (schema "${target.schema}"):`,
            `  config records: ${report.configRecords}   audit entries: ${report.auditEntries} (chain verified)   budget events: ${report.events}`,
            `  ledger lines: ${report.lines} (${report.linesAdded} new)${recovered.added ? `, of which ${recovered.added} recovered from the spool` : ''}`,
            ...Object.entries(report.totals).map(([c, t]) => `  ${c}: ${t.lines} lines, cost ${formatAmount({ nano: BigInt(t.costNano), currency: c })}, identical on both sides`),
            'next: start every replica with BURSAR_DATABASE_URL and BURSAR_REDIS_URL set (docs/operations.md)',
          ].join('\n'),
        );
      } finally {
        await source.close();
        await dest.close();
      }
    });
}
