import { randomUUID } from 'node:crypto';
import type { Database } from './database.ts';

/** The PostgreSQL channel every replica LISTENs on. */
export const INVALIDATION_CHANNEL = 'rekey_verify_invalidate';

export interface InvalidationChannelEvents {
  /** Another replica (or this one, through the database) changed these secrets. */
  onInvalidate(hashes: string[]): void;
  /** The channel (re)connected after it had been down or was first opened: notifications may have been missed. */
  onResubscribed(): void;
  /** Up: cross-replica invalidation works. Down: only the TTL bounds staleness. */
  onStateChange(up: boolean, reason?: unknown): void;
}

export interface InvalidationChannel {
  /** True while LISTEN is known to work. */
  readonly up: boolean;
  close(): Promise<void>;
}

export interface InvalidationChannelOptions {
  /** How often to prove the LISTEN connection still delivers (real PostgreSQL only). */
  heartbeatMs?: number;
}

/**
 * Payload: `db|<hash>,<hash>…` from the database's triggers (every change, whoever made it), or
 * `<origin>|ping` from a replica's heartbeat, which only that replica acts on.
 */
function encode(origin: string, body: string): string {
  return `${origin}|${body}`;
}

function decode(payload: string): { origin: string; body: string } | null {
  const cut = payload.indexOf('|');
  if (cut <= 0) return null;
  return { origin: payload.slice(0, cut), body: payload.slice(cut + 1) };
}

const HASH = /^[0-9a-f]{64}$/;

/**
 * Cross-replica cache invalidation over PostgreSQL LISTEN/NOTIFY (DESIGN §8). On PGlite, the same
 * messages travel in-process (PGlite has one process by construction).
 *
 * postgres.js re-LISTENs once by itself when its listen connection closes, but silently gives up if
 * the server is still down at that moment. So this channel proves delivery end to end with a ping
 * every `heartbeatMs` (a NOTIFY it must receive back), reports down when a ping goes unanswered, and
 * LISTENs again until it works.
 */
export async function openInvalidationChannel(
  database: Database,
  events: InvalidationChannelEvents,
  options: InvalidationChannelOptions = {},
): Promise<InvalidationChannel> {
  const origin = randomUUID().slice(0, 8);
  const receive = (payload: string) => {
    const message = decode(payload);
    if (!message || message.origin === origin) return;
    const hashes = message.body.split(',').filter((h) => HASH.test(h));
    if (hashes.length > 0) events.onInvalidate(hashes);
  };

  if (database.pglite) return openPgliteChannel(database, receive, events);
  if (database.sql) return openPostgresChannel(database, origin, receive, events, options);
  throw new Error('invalidation channel needs a PGlite or postgres.js database');
}

async function openPgliteChannel(
  database: Database,
  receive: (payload: string) => void,
  events: InvalidationChannelEvents,
): Promise<InvalidationChannel> {
  const pglite = database.pglite!;
  const unlisten = await pglite.listen(INVALIDATION_CHANNEL, receive);
  events.onStateChange(true);
  return {
    up: true,
    async close() {
      await unlisten();
    },
  };
}

async function openPostgresChannel(
  database: Database,
  origin: string,
  receive: (payload: string) => void,
  events: InvalidationChannelEvents,
  options: InvalidationChannelOptions,
): Promise<InvalidationChannel> {
  const sql = database.sql!;
  const heartbeatMs = options.heartbeatMs ?? 1_000;
  let up = false;
  let closed = false;
  /** Each LISTEN attempt gets a generation; messages reaching an abandoned listener are ignored. */
  let generation = 0;
  let unlisten: (() => Promise<void>) | undefined;
  let lastPong = performance.now();
  let pingSent = 0;

  const setState = (next: boolean, reason?: unknown) => {
    if (next === up) return;
    up = next;
    events.onStateChange(next, reason);
  };

  const subscribe = async () => {
    const mine = ++generation;
    const previous = unlisten;
    unlisten = undefined;
    await previous?.().catch(() => {});
    let firstListen = true;
    const handle = await sql.listen(
      INVALIDATION_CHANNEL,
      (payload) => {
        if (mine !== generation) return;
        const message = decode(payload);
        if (message?.origin === origin && message.body === 'ping') {
          lastPong = performance.now();
          return;
        }
        receive(payload);
      },
      () => {
        // Called on the first LISTEN and again each time postgres.js re-LISTENs after a reconnect:
        // anything sent while the connection was gone is lost, so cached verdicts may be stale.
        if (mine !== generation) return;
        lastPong = performance.now();
        if (!firstListen) events.onResubscribed();
        firstListen = false;
        setState(true);
      },
    );
    if (mine === generation) unlisten = handle.unlisten;
    else await handle.unlisten().catch(() => {});
  };

  await subscribe();

  let resubscribing = false;
  const heartbeat = setInterval(() => {
    if (closed) return;
    const now = performance.now();
    // Two intervals without our own ping coming back: the channel is not delivering.
    if (pingSent > 0 && now - lastPong > heartbeatMs * 2.5) {
      setState(false, new Error('invalidation pings are not coming back'));
      if (!resubscribing) {
        resubscribing = true;
        subscribe()
          .then(() => {
            if (!closed) events.onResubscribed();
          })
          .catch((error: unknown) => setState(false, error))
          .finally(() => {
            resubscribing = false;
          });
      }
    }
    pingSent = now;
    sql`select pg_notify(${INVALIDATION_CHANNEL}, ${encode(origin, 'ping')})`.catch(() => {
      // An unreachable server shows up as missing pongs; nothing else to do here.
    });
  }, heartbeatMs);
  heartbeat.unref();

  return {
    get up() {
      return up;
    },
    async close() {
      closed = true;
      clearInterval(heartbeat);
      generation++;
      await unlisten?.().catch(() => {});
    },
  };
}
