import { HOUR_MS, hourStartMs } from '../keys/usage.ts';
import type { UseCount } from '../store/usage-store.ts';
import {
  createInterner,
  mergeClientCounts,
  recordClient,
  type TrackedClient,
  takeClientCounts,
} from './client-tally.ts';

/**
 * What one cached secret has been presented since the last flush. Each verify cache entry is one (its
 * class extends this, so the fields cost no object of their own) and is handed back on every
 * verification, so counting a request touches only these fields: no lookup by id, no allocation.
 * Only the counter writes them.
 *
 * Every field is a small integer (the hour as a number of hours, times as ms into that hour), not epoch
 * ms: V8 keeps small integers in the object itself, where an epoch-ms field would cost a boxed number
 * of its own in every cached entry.
 */
export class UseSlot {
  /** Presentations pending since the last drain (0: the slot is not on the dirty list). */
  uses = 0;
  expiredUses = 0;
  /** The clock hour (UTC) the pending presentations belong to, in hours since the epoch. */
  hour = 0;
  /** First and last pending presentation, in ms after the start of `hour`. */
  firstInHour = 0;
  lastInHour = 0;
  /** Who presented it this hour, most recent first: a bounded tally (client-tally.ts). */
  clients: TrackedClient | undefined = undefined;
  /** The secret's id, compacted (see `compactId`): read only when its counts are written. */
  private readonly id: string | { readonly raw: string };

  constructor(secretId: string) {
    this.id = compactId(secretId);
  }

  get secretId(): string {
    const { id } = this;
    return typeof id === 'string' ? uuidOf(id) : id.raw;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Every id the database hands out is a UUID in its canonical text (36 characters: 56 bytes of heap),
 * held once per cached secret. Its 16 bytes as a latin1 string take 32, and it is turned back into the
 * same text only when its counts are written. Any other id (tests name secrets freely) is kept as
 * given, boxed, so the two forms can never be mistaken for each other.
 */
function compactId(id: string): string | { readonly raw: string } {
  if (!UUID.test(id)) return { raw: id };
  return Buffer.from(id.replaceAll('-', ''), 'hex').toString('latin1');
}

function uuidOf(bytes: string): string {
  const hex = Buffer.from(bytes, 'latin1').toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The in-memory side of usage counting, one per process. The verify path calls `record` per request;
 * the flusher calls `drain` every interval, writes the counts, and `restore`s them if the write fails,
 * so a database blip loses nothing (a crash loses at most what was counted since the last flush).
 *
 * Hours: counts go to the clock hour (UTC) each presentation fell in, exactly. A slot holds one hour at
 * a time; the first presentation past that hour's end (at most once per secret per hour) moves what it
 * held aside as a finished count, and the slot starts on the new hour. Slots are never shared between
 * processes, and two slots of one secret (an entry dropped and cached again) simply add up.
 */
export class UsageCounter {
  /** Slots with pending counts, each once: pushed by its first presentation of an interval. */
  private dirty: UseSlot[] = [];
  /** Finished hours and counts a failed write gave back, one entry per (secret, hour). */
  private carried = new Map<string, UseCount>();
  /** Tracked clients' addresses and user agents, shared between secrets. */
  private readonly intern = createInterner();

  /** A fresh slot for a secret. Call it when a cache entry is created, not per request. */
  slotFor(secretId: string): UseSlot {
    return new UseSlot(secretId);
  }

  /**
   * Counts one presentation of the slot's secret at `nowMs` (epoch ms, from the caller's clock);
   * `expired` when it was refused as EXPIRED; by the client at `ip` with `userAgent` as the gateway
   * passed them (null or absent: unknown). The hot path: a few field writes and two string
   * comparisons, nothing else in the common case.
   */
  record(
    slot: UseSlot,
    nowMs: number,
    expired: boolean,
    ip: string | null = null,
    userAgent: string | null = null,
  ): void {
    if (slot.uses === 0) this.open(slot, nowMs);
    else if (nowMs >= (slot.hour + 1) * HOUR_MS) this.rollOver(slot, nowMs);
    slot.uses++;
    if (expired) slot.expiredUses++;
    // A clock stepped back must not move the last use backwards. `| 0`: see startHour.
    const inHour = (nowMs - slot.hour * HOUR_MS) | 0;
    if (inHour > slot.lastInHour) slot.lastInHour = inHour;
    this.attribute(slot, inHour, ip, userAgent);
  }

  /** Client attribution of one presentation (a method of its own so a benchmark can switch it off). */
  protected attribute(slot: UseSlot, inHour: number, ip: string | null, userAgent: string | null): void {
    slot.clients = recordClient(slot.clients, ip, userAgent, Math.max(inHour, 0), this.intern);
  }

  /** Everything counted since the last drain, one entry per (secret, hour); the counter starts afresh. */
  drain(): UseCount[] {
    const counts = this.carried;
    this.carried = new Map();
    const dirty = this.dirty;
    this.dirty = [];
    for (const slot of dirty) {
      merge(counts, toCount(slot));
      slot.uses = 0;
      slot.expiredUses = 0;
    }
    return [...counts.values()];
  }

  /**
   * Gives back counts that could not be written; the next drain returns them again, added to whatever
   * was counted meanwhile. Merged per (secret, hour), so a long outage holds one entry per secret and
   * hour, not one per failed flush.
   */
  restore(counts: readonly UseCount[]): void {
    for (const count of counts)
      merge(this.carried, { ...count, clients: count.clients?.map((c) => ({ ...c })) });
  }

  /** Secrets (and hours) waiting to be written: for logs and tests. */
  get pending(): number {
    return this.dirty.length + this.carried.size;
  }

  private open(slot: UseSlot, nowMs: number): void {
    const hour = slot.hour;
    startHour(slot, nowMs);
    // The client tally is per hour (so is what it is added to): a new hour starts it afresh.
    if (slot.hour !== hour) slot.clients = undefined;
    this.dirty.push(slot);
  }

  /** The slot's hour is over: its counts are final for that hour; the slot stays dirty, for the new one. */
  private rollOver(slot: UseSlot, nowMs: number): void {
    merge(this.carried, toCount(slot));
    slot.uses = 0;
    slot.expiredUses = 0;
    slot.clients = undefined;
    startHour(slot, nowMs);
  }
}

/**
 * `| 0` on every stored value: arithmetic on epoch ms (Date.now() is no small integer) yields a heap
 * number even when the result is a whole number well within range, and one such store turns the field
 * into a boxed double in every slot (16 bytes each, three fields: measured by bench/cache-memory.ts).
 * The values are whole numbers below 2^31 (the hour count until the year 246 000, ms within an hour).
 */
function startHour(slot: UseSlot, nowMs: number): void {
  const startMs = hourStartMs(nowMs);
  slot.hour = (startMs / HOUR_MS) | 0;
  slot.firstInHour = (nowMs - startMs) | 0;
  slot.lastInHour = slot.firstInHour;
}

function toCount(slot: UseSlot): UseCount {
  const startMs = slot.hour * HOUR_MS;
  return {
    secretId: slot.secretId,
    hour: new Date(startMs),
    uses: slot.uses,
    expiredUses: slot.expiredUses,
    firstUsedAt: new Date(startMs + slot.firstInHour),
    lastUsedAt: new Date(startMs + slot.lastInHour),
    clients: takeClientCounts(slot.clients, startMs),
  };
}

/** Adds `count` into `into`, taking ownership of it when it is the first for its (secret, hour). */
function merge(into: Map<string, UseCount>, count: UseCount): void {
  const key = `${count.secretId}|${count.hour.getTime()}`;
  const seen = into.get(key);
  if (!seen) {
    into.set(key, count);
    return;
  }
  seen.uses += count.uses;
  seen.expiredUses += count.expiredUses;
  if (count.firstUsedAt < seen.firstUsedAt) seen.firstUsedAt = count.firstUsedAt;
  if (count.lastUsedAt > seen.lastUsedAt) seen.lastUsedAt = count.lastUsedAt;
  if (count.clients && count.clients.length > 0) {
    seen.clients ??= [];
    mergeClientCounts(seen.clients, count.clients);
  }
}
