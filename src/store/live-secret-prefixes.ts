import { sql } from 'drizzle-orm';
import { type Db, rowsOf } from './database.ts';

/** Secrets per statement: 400 KB of prefixes, a statement of a few tens of ms on a million secrets. */
const PAGE_SIZE = 50_000;

/**
 * The first 8 bytes of the SHA-256 of every secret of a live key that had not expired at `since` — the
 * current secrets, the old ones in their grace period and those that expired after `since` — for the
 * verify path's membership filter. Yields them page by page in hash order (a range of the unique hash
 * index per statement, each page's prefixes packed into one bytea), so neither the database nor this
 * process holds them all in one value, and other work runs between pages.
 *
 * A deleted key's secrets and a canary's are never valid, and the filter must not make them look like
 * something the database has to be asked about.
 */
export async function* readLiveSecretPrefixes(
  db: Db,
  since: Date,
  pageSize = PAGE_SIZE,
): AsyncGenerator<Uint8Array> {
  let after = '';
  for (;;) {
    const [page] = rowsOf<{ last: string | null; prefixes: Uint8Array | null }>(
      await db.execute(sql`
        select max(page.hash) as last,
               string_agg(decode(substr(page.hash, 1, 16), 'hex'), ''::bytea) as prefixes
        from (
          select s.hash
          from secrets s
          join keys k on k.id = s.key_id
          where s.hash > ${after}
            and k.deleted_at is null
            and (s.expires_at is null or s.expires_at > ${since.toISOString()}::timestamptz)
            -- Canary keys (never valid) are left out here, once keys carry that flag.
          order by s.hash
          limit ${pageSize}::int
        ) page`),
    );
    if (!page?.last || !page.prefixes) return;
    yield page.prefixes;
    after = page.last;
  }
}
