import { sql } from 'drizzle-orm';
import { type Db, rowsOf } from '../../src/store/database.ts';

/** Every row of every table (rekey's and drizzle's), as one JSON text, and the tables it read. */
export async function readAllTables(db: Db): Promise<{ text: string; rows: Map<string, unknown[]> }> {
  const tables = rowsOf<{ table_schema: string; table_name: string }>(
    await db.execute(
      sql`select table_schema, table_name from information_schema.tables where table_schema in ('public', 'drizzle') and table_type = 'BASE TABLE'`,
    ),
  );
  const rows = new Map<string, unknown[]>();
  let text = '';
  for (const { table_schema, table_name } of tables) {
    const found = rowsOf(await db.execute(sql.raw(`select * from "${table_schema}"."${table_name}"`)));
    rows.set(table_name, found);
    text += JSON.stringify(found);
  }
  return { text, rows };
}

/** Every row of every table as one text: what a test searches for a string that must not be stored. */
export async function tablesText(db: Db): Promise<string> {
  return (await readAllTables(db)).text;
}
