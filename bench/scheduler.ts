import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import type postgres from 'postgres';
import { runNoticeTick } from '../src/scheduler/notice-job.ts';
import type { SlackPoster } from '../src/scheduler/slack-poster.ts';
import { rowsOf } from '../src/store/database.ts';
import { dueProbeQuery, dueSecretsQuery } from '../src/store/notifications-store.ts';
import { openScratchDatabase } from './scratch-database.ts';

const SECRETS = 100_000;
const DUE = 10_000;
const CHANNELS = 200;
const ROTATORS = 500;
const T0 = new Date('2027-06-01T00:00:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const scratch = await openScratchDatabase('scheduler', { max: 10 });
const { client, db } = scratch;
try {
  const seedStarted = performance.now();
  await seed(client);
  const seedMs = performance.now() - seedStarted;

  let messages = 0;
  const poster: SlackPoster = {
    chat: {
      postMessage: async () => {
        messages += 1;
        return { ok: true };
      },
    },
  };
  const logger = pino({ level: 'warn' });
  const tickAt = async (label: string, at: Date) => {
    const before = scratch.statements();
    messages = 0;
    const started = performance.now();
    const report = await runNoticeTick({
      db,
      clock: { now: () => at },
      poster,
      offsets: [24 * HOUR, HOUR, 10 * MINUTE],
      logger,
      instanceId: 'bench',
    });
    const ms = performance.now() - started;
    console.log(
      `${label.padEnd(34)} ${ms.toFixed(1).padStart(9)} ms  ${String(scratch.statements() - before).padStart(5)} statements  ` +
        `scanned=${report.scanned} claimed=${report.claimed} sent=${report.sent} failed=${report.failed} ` +
        `superseded=${report.superseded} slack messages=${messages}`,
    );
    return report;
  };

  console.log(`PostgreSQL: ${(await client`select version()`)[0]!.version}`);
  console.log(
    `seeded ${SECRETS} old secrets in grace (${DUE} of them 3h rotations, the rest 72h), ${CHANNELS} channels, ` +
      `${ROTATORS} rotators, in ${(seedMs / 1000).toFixed(1)} s`,
  );
  console.log('(statements = every SQL statement sent, begin/commit included)');
  await tickAt('first tick (plans all 100 000)', T0);
  await tickAt('empty tick', new Date(T0.getTime() + MINUTE));
  await tickAt('empty tick again', new Date(T0.getTime() + 2 * MINUTE));
  const busy = await tickAt(`busy tick (${DUE} reminders due)`, new Date(T0.getTime() + HOUR + MINUTE));
  await tickAt('empty tick after the busy one', new Date(T0.getTime() + HOUR + 2 * MINUTE));
  if (busy.sent !== DUE) throw new Error(`expected ${DUE} reminders sent, got ${busy.sent}`);

  const later = new Date(T0.getTime() + HOUR + 3 * MINUTE);
  const explain = async (title: string, query: ReturnType<typeof dueProbeQuery>) => {
    const plan = rowsOf<{ 'QUERY PLAN': string }>(
      await db.execute(sql`explain (analyze, costs off, timing off, summary off) ${query}`),
    );
    console.log(`\n${title}`);
    for (const row of plan) console.log(`  ${row['QUERY PLAN']}`);
  };
  await explain("EXPLAIN ANALYZE of the empty tick's one statement:", dueProbeQuery(later));
  await explain(
    'EXPLAIN ANALYZE of the claim query (busy ticks, per batch of 500):',
    dueSecretsQuery(later, 500),
  );
} finally {
  await scratch.drop();
}

/**
 * Bulk SQL, like a team's history: each key has a current secret and one old secret from a rotation
 * through Slack. The first DUE old secrets expire at T0+2h (3h grace: a 1h reminder at T0+1h); the rest
 * expire between T0+30h and T0+70h (72h grace: next owed their 24h reminder, hours away).
 */
async function seed(sql: postgres.Sql) {
  const t0 = T0.toISOString();
  await sql.unsafe(`
    insert into keys (id, name, maintainers, alert_channel, created_at, last_rotated_at)
    select md5('key' || g)::uuid, 'bench-' || g, array['UBENCH' || (g % ${ROTATORS})],
           'CBENCH' || (g % ${CHANNELS}), '${t0}'::timestamptz - interval '30 days', '${t0}'::timestamptz
      from generate_series(1, ${SECRETS}) g`);
  await sql.unsafe(`
    with old as (
      select g,
             case when g <= ${DUE} then '${t0}'::timestamptz + interval '2 hours'
                  else '${t0}'::timestamptz + interval '30 hours' + (g % 2400) * interval '1 minute' end as expires_at,
             case when g <= ${DUE} then '3h' else '72h' end as delay
        from generate_series(1, ${SECRETS}) g
    )
    insert into secrets (id, key_id, hash, display, created_at, expires_at)
    select md5('old' || g)::uuid, md5('key' || g)::uuid, encode(sha256(('old' || g)::bytea), 'hex'),
           'rk_live_old' || g || '…', '${t0}'::timestamptz - interval '30 days', expires_at
      from old`);
  await sql.unsafe(`
    insert into secrets (id, key_id, hash, display, created_at)
    select md5('new' || g)::uuid, md5('key' || g)::uuid, encode(sha256(('new' || g)::bytea), 'hex'),
           'rk_live_new' || g || '…', '${t0}'::timestamptz - interval '1 hour'
      from generate_series(1, ${SECRETS}) g`);
  await sql.unsafe(`
    insert into audit_events (key_id, action, actor, source, delay, old_secret_id, new_secret_id, request_id, created_at)
    select s.key_id, 'rotate', 'UBENCH' || (g % ${ROTATORS}), 'slack',
           case when g <= ${DUE} then '3h' else '72h' end, s.id, md5('new' || g)::uuid, 'bench-' || g,
           s.expires_at - case when g <= ${DUE} then interval '3 hours' else interval '72 hours' end
      from generate_series(1, ${SECRETS}) g
      join secrets s on s.id = md5('old' || g)::uuid`);
  await sql.unsafe('analyze');
}
