import { randomUUID } from 'node:crypto';
import type { Sql } from 'postgres';
import type { Database } from './database.ts';

/** The PostgreSQL channel every replica LISTENs on. */
export const INVALIDATION_CHANNEL = 'rekey_verify_invalidate';

export interface InvalidationChannelEvents {
  /** Another replica (or this one, through the database) changed these secrets. */
  onInvalidate(hashes: string[]): void;
  /** These keys' name, products or deletion changed: every one of their secrets' verdicts. */
  onInvalidateKeys(keyIds: string[]): void;
  /** New secrets with these hashes were committed (announced before their key string is revealed). */
  onNewSecrets(hashes: string[]): void;
  /** The channel (re)connected after it had been down: notifications may have been missed. */
  onResubscribed(): void;
  /**
   * The database answered while the channel was (or may still be) down: notifications may have been
   * missed. Called on every such answer until the channel is back.
   */
  onDatabaseBack(): void;
  /** Up: cross-replica invalidation works. Down: only the TTL bounds staleness. */
  onStateChange(up: boolean, reason?: unknown): void;
  /** A canary key was created (`db|canaries`): the canaries kept in memory must be read again. */
  onCanariesChanged?(): void;
}

export interface InvalidationChannel {
  /** True while LISTEN is known to work. */
  readonly up: boolean;
  close(): Promise<void>;
}

export interface InvalidationChannelOptions {
  /** How often to prove the LISTEN connection still delivers (real PostgreSQL only). */
  heartbeatMs?: number;
  /** While the channel is down: how often the database is probed and LISTEN tried again. */
  probeMs?: number;
  /** The longest any one LISTEN attempt or probe may take before it is abandoned. */
  attemptMs?: number;
}

/**
 * Payload: `db|<hash>,<hash>…`, `db|key:<key id>`, `db|new:<hash>` or `db|canaries` from the database's triggers (every
 * change, whoever made it), or `<origin>|ping` from a replica's heartbeat, which only that replica acts on.
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
const KEY_ITEM = /^key:([0-9a-f-]{36})$/;
const NEW_ITEM = /^new:[0-9a-f]{64}$/;

/**
 * Cross-replica cache invalidation over PostgreSQL LISTEN/NOTIFY (see "The verify cache across replicas"
 * in docs/architecture.md). On PGlite, the same messages travel in-process (PGlite has one process by
 * construction).
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
    const hashes: string[] = [];
    const keyIds: string[] = [];
    const created: string[] = [];
    for (const item of message.body.split(',')) {
      if (HASH.test(item)) hashes.push(item);
      else if (item === 'canaries') events.onCanariesChanged?.();
      else if (NEW_ITEM.test(item)) created.push(item.slice(4));
      else {
        const key = KEY_ITEM.exec(item);
        if (key) keyIds.push(key[1]!);
      }
    }
    if (created.length > 0) events.onNewSecrets(created);
    if (hashes.length > 0) events.onInvalidate(hashes);
    if (keyIds.length > 0) events.onInvalidateKeys(keyIds);
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
  const probeMs = options.probeMs ?? Math.min(250, heartbeatMs);
  const attemptMs = options.attemptMs ?? Math.max(1_000, heartbeatMs);
  let up = false;
  let closed = false;
  /** Each LISTEN attempt gets a generation; messages reaching an abandoned listener are ignored. */
  let generation = 0;
  let listener: Sql | undefined;
  let lastPong = performance.now();
  let pingSentAt = 0;
  /** The channel went down: changes may have been missed until LISTEN is proven back. */
  let missed = false;
  let subscribing = false;
  let timer: NodeJS.Timeout | undefined;

  const setState = (next: boolean, reason?: unknown) => {
    if (next === up) return;
    up = next;
    events.onStateChange(next, reason);
  };
  const markDown = (reason: unknown) => {
    missed = true;
    setState(false, reason);
  };
  /** Ends a LISTEN client of ours. */
  const discard = (client: Sql) => client.end({ timeout: 0 }).catch(() => {});

  /**
   * One LISTEN attempt on a fresh client of its own, abandoned (never awaited further) after attemptMs.
   * Its connection's closing is reported at once: LISTEN ends with it, and what is announced after
   * that is never heard, which the verify path's filter of live secrets must know before it next rules
   * a key out. (postgres.js's own listen() would quietly LISTEN again on a new connection, or give up,
   * without saying that anything was lost in between.)
   */
  const subscribe = async (): Promise<void> => {
    const mine = ++generation;
    const previous = listener;
    listener = undefined;
    if (previous) void discard(previous);
    if (!database.openListener) throw new Error('LISTEN needs a client of its own');
    const client = database.openListener({
      onnotify: (_channel, payload) => {
        if (mine !== generation) return;
        const message = decode(payload);
        if (message?.origin === origin && message.body === 'ping') {
          lastPong = performance.now();
          return;
        }
        receive(payload);
      },
      onclose: () => {
        if (mine === generation && !closed) markDown(new Error('the LISTEN connection closed'));
      },
    });
    try {
      await within(client.unsafe(`listen "${INVALIDATION_CHANNEL}"`), attemptMs, 'LISTEN');
    } catch (error) {
      // A late success of this attempt must not count: the next attempt starts afresh.
      if (mine === generation) generation++;
      void discard(client);
      throw error;
    }
    if (mine !== generation) {
      void discard(client);
      return;
    }
    listener = client;
    lastPong = performance.now();
    setState(true);
  };

  await subscribe();

  /**
   * Up: a ping every heartbeatMs proves delivery end to end. Down: a probe every probeMs; each one
   * the database answers drops the cached verdicts (changes made meanwhile were not heard) and, while
   * LISTEN is not back, tries it again — so a revoked key stays valid no longer than the database
   * takes to answer, whatever LISTEN does.
   */
  const tick = () => {
    if (closed) return;
    const now = performance.now();
    // Two intervals and a half without our own ping coming back: the channel is not delivering.
    if (up && pingSentAt > 0 && now - lastPong > heartbeatMs * 2.5) {
      markDown(new Error('invalidation pings are not coming back'));
    }
    pingSentAt = now;
    within(sql`select pg_notify(${INVALIDATION_CHANNEL}, ${encode(origin, 'ping')})`, attemptMs, 'ping')
      .then(
        () => {
          if (closed) return;
          if (missed) events.onDatabaseBack();
          if (!up && !subscribing) {
            subscribing = true;
            subscribe()
              .then(() => {
                if (closed || !up) return;
                missed = false;
                events.onResubscribed();
              })
              .catch((error: unknown) => setState(false, error))
              .finally(() => {
                subscribing = false;
              });
          }
        },
        (error: unknown) => {
          if (!closed) markDown(error);
        },
      )
      .finally(() => {
        if (closed) return;
        timer = setTimeout(tick, up ? heartbeatMs : probeMs);
        timer.unref();
      });
  };
  timer = setTimeout(tick, heartbeatMs);
  timer.unref();

  return {
    get up() {
      return up;
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      generation++;
      const current = listener;
      listener = undefined;
      if (current) await discard(current);
    },
  };
}

/** Rejects after `ms` (the promise itself is left to settle on its own: nothing waits on it). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
  });
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
