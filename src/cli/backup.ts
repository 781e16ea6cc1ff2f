/**
 * An online backup of the embedded database through SQLite's backup API: consistent while
 * Bursar keeps writing (WAL mode), and without the sqlite3 command-line tool.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError } from './client.js';

export async function backupDatabase(dataDir: string, destination: string): Promise<{ source: string; destination: string; pages: number }> {
  const source = join(dataDir, 'bursar.db');
  if (!existsSync(source)) throw new CliError(`No database at ${source}; set BURSAR_DATA_DIR to Bursar's data folder.`);
  const dest = resolve(destination);
  if (existsSync(dest)) throw new CliError(`${dest} exists; choose a new file name.`);
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    const r = await db.backup(dest);
    return { source, destination: dest, pages: r.totalPages };
  } finally {
    db.close();
  }
}
