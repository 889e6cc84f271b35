import { sql } from 'drizzle-orm';
import { type DbOrTx, rowsOf } from './database.ts';

export interface Heartbeat {
  /**
   * The row had to be created: this is the instance's first heartbeat, or the others had found it
   * dead and deleted it (releasing its claims) while it was still running.
   */
  created: boolean;
  /** Instances found dead by this heartbeat and deleted; their claims are free again. */
  reaped: string[];
}

/**
 * One statement, judged by the database's clock alone (docs/architecture.md#time): says that `id` is
 * alive, and deletes every other instance not heard from for `deadAfterMs`. Deleting an instance sets
 * `claimed_by` to null on every claim it held (ON DELETE SET NULL), which frees them; the DELETE
 * re-checks its condition on each row it locks, so an instance that beat meanwhile is left alone.
 */
export async function beatInstance(db: DbOrTx, id: string, deadAfterMs: number): Promise<Heartbeat> {
  const [row] = rowsOf<{ created: boolean; reaped: string[] | null }>(
    await db.execute(sql`
      with beat as (
        insert into instances (id) values (${id})
        on conflict (id) do update set seen_at = clock_timestamp()
        -- xmax is 0 on a row this statement inserted, the updating transaction's id otherwise.
        returning (xmax = 0) as created
      ), reaped as (
        delete from instances
         where id <> ${id} and seen_at < clock_timestamp() - ${deadAfterMs}::integer * interval '1 millisecond'
        returning id
      )
      select (select created from beat) as created, array(select id from reaped) as reaped`),
  );
  return { created: row?.created === true, reaped: row?.reaped ?? [] };
}

/**
 * Says that `id` is alive without looking at anyone else (creating its row if needed): a claimer with
 * no heartbeat of its own (a one-off run) still needs the row its claims name. True if it was created.
 */
export async function touchInstance(db: DbOrTx, id: string): Promise<boolean> {
  const [row] = rowsOf<{ created: boolean }>(
    await db.execute(sql`
      insert into instances (id) values (${id})
      on conflict (id) do update set seen_at = clock_timestamp()
      returning (xmax = 0) as created`),
  );
  return row?.created === true;
}

/**
 * A graceful stop: the instance goes, and with it every claim it still held (ON DELETE SET NULL), whose
 * subjects are due again at once (the tables' release triggers), with every scheduler woken.
 */
export async function deleteInstance(db: DbOrTx, id: string): Promise<void> {
  await db.execute(sql`delete from instances where id = ${id}`);
}
