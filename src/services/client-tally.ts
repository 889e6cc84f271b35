import type { ClientCount } from '../store/usage-store.ts';

/**
 * Which clients presented one cached secret within one clock hour, bounded: a Space-Saving tally
 * (Metwally, Agrawal, El Abbadi, "Efficient computation of frequent and top-k elements in data streams",
 * 2005) of at most TRACKED_CLIENTS clients per secret, held as a short linked list hanging off the
 * secret's usage slot (usage-counter.ts). Why Space-Saving, and what the written figures mean, is in
 * docs/architecture.md#usage-counting; in short:
 *
 * - Up to TRACKED_CLIENTS distinct clients in the hour: every count is exact.
 * - More: a client not in the list takes the place of the one with the fewest uses and inherits that
 *   count (its `inherited`), so a client that keeps coming cannot be pushed out by a crowd of one-off
 *   callers. Its own uses are counted exactly from then on, and it is written under its name only once
 *   they outnumber what it inherited: a client making more than 2/TRACKED_CLIENTS of the secret's
 *   presentations to one replica in an hour is always named, its count short by at most
 *   1/TRACKED_CLIENTS of them. The uses of clients never named (and of a named one since the last flush
 *   when it is pushed out) are counted in the secret's total but attributed to nobody.
 *
 * The hot path is `recordClient`: in the common case the client at the head of the list is the caller
 * (string comparisons, a few field writes, no allocation); otherwise it is moved to the head, or it
 * takes the least-used place. An allocation happens only when a client is seen for the first time.
 */

/** At most this many clients are tracked per secret and hour, per replica. */
export const TRACKED_CLIENTS = 10;

/**
 * One tracked client. Every number is a small integer (V8 keeps it in the object itself): counts, and
 * the last use as ms into the slot's hour.
 */
export class TrackedClient {
  /** Uses counted for this place in the list this hour, inherited ones included (what ranks it). */
  count = 0;
  /** What this client took over from the one it replaced: not its own uses. */
  inherited = 0;
  /** How much of `count` has been handed to a flush already (or was inherited, so never its own). */
  flushed = 0;
  lastInHour = 0;
  next: TrackedClient | undefined = undefined;

  constructor(
    public ip: string | null,
    public userAgent: string | null,
  ) {}
}

/**
 * Counts one presentation by (ip, userAgent) in the list starting at `head`, `inHour` ms into the
 * hour; returns the list's new head (the caller keeps it in the slot).
 */
export function recordClient(
  head: TrackedClient | undefined,
  ip: string | null,
  userAgent: string | null,
  inHour: number,
  intern: (text: string) => string,
): TrackedClient {
  // The common case: the same client as last time.
  if (head !== undefined && head.ip === ip && head.userAgent === userAgent) {
    count(head, inHour);
    return head;
  }
  let length = 0;
  let previous: TrackedClient | undefined;
  let least: TrackedClient | undefined;
  let beforeLeast: TrackedClient | undefined;
  for (let at = head; at !== undefined; previous = at, at = at.next) {
    length++;
    if (at.ip === ip && at.userAgent === userAgent) {
      // Move to the front: a client that calls often is found at once next time.
      previous!.next = at.next;
      at.next = head;
      count(at, inHour);
      return at;
    }
    if (least === undefined || at.count <= least.count) {
      least = at;
      beforeLeast = previous;
    }
  }
  if (length < TRACKED_CLIENTS || least === undefined) {
    const added = new TrackedClient(
      ip === null ? null : intern(ip),
      userAgent === null ? null : intern(userAgent),
    );
    added.next = head;
    count(added, inHour);
    return added;
  }
  // Full: the least-used place goes to the newcomer, with its count (Space-Saving). What the previous
  // holder had not flushed yet is attributed to nobody.
  least.ip = ip === null ? null : intern(ip);
  least.userAgent = userAgent === null ? null : intern(userAgent);
  least.inherited = least.count;
  least.flushed = least.count;
  least.lastInHour = 0;
  if (beforeLeast !== undefined) {
    beforeLeast.next = least.next;
    least.next = head;
  }
  count(least, inHour);
  return least;
}

function count(client: TrackedClient, inHour: number): void {
  client.count++;
  if (inHour > client.lastInHour) client.lastInHour = inHour;
}

/** Its own uses outnumber the ones it inherited: its figure is mostly its own, so it is named. */
const named = (client: TrackedClient) => client.count - client.inherited > client.inherited;

/**
 * What the list has counted since the last call, per named client (the caller adds it to the hour's
 * stored counts), and marks it handed over. `hourStartMs`: the start of the slot's hour.
 */
export function takeClientCounts(head: TrackedClient | undefined, hourStartMs: number): ClientCount[] {
  const counts: ClientCount[] = [];
  for (let at = head; at !== undefined; at = at.next) {
    if (at.count === at.flushed || !named(at)) continue;
    counts.push({
      ip: at.ip,
      userAgent: at.userAgent,
      uses: at.count - at.flushed,
      lastUsedAt: new Date(hourStartMs + at.lastInHour),
    });
    at.flushed = at.count;
  }
  return counts;
}

/** Adds `more` into `into`, one entry per client. */
export function mergeClientCounts(into: ClientCount[], more: readonly ClientCount[]): void {
  for (const count of more) {
    const seen = into.find((c) => c.ip === count.ip && c.userAgent === count.userAgent);
    if (!seen) {
      into.push({ ...count });
      continue;
    }
    seen.uses += count.uses;
    if (count.lastUsedAt > seen.lastUsedAt) seen.lastUsedAt = count.lastUsedAt;
  }
}

/**
 * Interns the address and user-agent strings tracked clients keep: every request brings its own copy,
 * and many cached secrets are presented by the same few clients. Bounded; emptied when full (it is only
 * a saving). Called when a client is first tracked, never per request.
 */
export function createInterner(max = 4096): (text: string) => string {
  const seen = new Map<string, string>();
  return (text) => {
    const known = seen.get(text);
    if (known !== undefined) return known;
    if (seen.size >= max) seen.clear();
    // A flat copy: a header value may be a slice of a larger string that it would keep alive.
    const flat = Buffer.from(text, 'utf8').toString('utf8');
    seen.set(flat, flat);
    return flat;
  };
}
