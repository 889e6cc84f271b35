import { getRandomValues } from 'node:crypto';

/** How many leading bytes of a digest the table keys on (see verify-cache.ts for why 128 bits suffice). */
const DIGEST_KEY_BYTES = 16;

/**
 * The highest share of slots in use. Linear probing stays short below it (on average 3 slots read for a
 * hit, 13 for a miss at 0.8, most rejected on their first 4 bytes), and each slot costs 33 bytes, so an
 * entry costs 41 at the bound.
 */
const MAX_LOAD = 0.8;
const MIN_CAPACITY = 64;

/** A slot's state: empty, held, or held and looked up since the eviction hand last passed it. */
const EMPTY = 0;
const HELD = 1;
const HIT = 2;

/**
 * A bounded, expiring map from the first 128 bits of a digest (a latin1 string, one character per byte)
 * to a value: the storage of the verify cache, which holds up to REKEY_CACHE_SIZE secrets, so it is built
 * for memory. A `Map` costs ~37 bytes per entry plus a 32-byte string for each key; here the key's 16
 * bytes sit in an Int32Array, the value in a plain array, the time it was stored in a Float64Array and
 * its state in a Uint8Array, slot by slot, with no object or string of its own.
 *
 * - Open addressing, linear probing; a deletion moves the entries after it back (no tombstones), so a
 *   lookup never reads past the end of its run.
 * - Slots are chosen by a keyed hash (random multipliers per table, multiply-shift): a caller picks its
 *   tokens, so it could grind their SHA-256 toward chosen slots of an unkeyed table and build one long
 *   run that every lookup walks (unknown tokens are cached too, in a table of their own).
 * - Bounded by CLOCK (second chance): when full, a hand sweeps the slots and evicts the first entry not
 *   looked up since the hand last passed it, clearing the mark of those that were. So an entry in use
 *   outlives one that is not, at the cost of a one-byte write on a hit, where an exact LRU moves the
 *   entry in a list on every hit.
 * - Entries older than `ttlMs` are misses (and dropped) when looked up, and the first the hand meets.
 * - Grows by doubling up to the capacity of `maxEntries` at MAX_LOAD, never shrinks until `clear`.
 */
export class DigestTable<V> {
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly maxCapacity: number;
  /** Odd random multipliers of the keyed hash, one per 4-byte word of the key. */
  private readonly multipliers: Int32Array;
  private capacity = 0;
  /** Four words per slot: the key's bytes 0–15, little-endian. */
  private words = new Int32Array(0);
  private values: (V | undefined)[] = [];
  /** performance.now() when the entry was stored. */
  private times = new Float64Array(0);
  private states = new Uint8Array(0);
  private count = 0;
  private hand = 0;

  constructor(options: { maxEntries: number; ttlMs: number }) {
    if (!(options.maxEntries >= 1)) throw new RangeError('maxEntries must be at least 1');
    this.maxEntries = options.maxEntries;
    this.ttlMs = options.ttlMs;
    // At least one slot more than the bound: a run always ends, so every lookup stops.
    this.maxCapacity = Math.max(options.maxEntries + 1, Math.ceil(options.maxEntries / MAX_LOAD));
    this.multipliers = getRandomValues(new Int32Array(4)).map((m) => m | 1);
    this.allocate(Math.min(MIN_CAPACITY, this.maxCapacity));
  }

  get size(): number {
    return this.count;
  }

  /** The value stored for the digest, if it is there and not older than `ttlMs`. Marks it as in use. */
  get(digest: string): V | undefined {
    const slot = this.find(digest);
    if (slot < 0) return undefined;
    if (performance.now() - this.times[slot]! > this.ttlMs) {
      this.removeAt(slot);
      return undefined;
    }
    if (this.states[slot] === HELD) this.states[slot] = HIT;
    return this.values[slot];
  }

  /** When the digest's entry was stored (performance.now()), if it is there; not a use. */
  storedAt(digest: string): number | undefined {
    const slot = this.find(digest);
    return slot < 0 ? undefined : this.times[slot];
  }

  /** Stores the value, replacing any for the same key; evicts one entry first if the table is full. */
  set(digest: string, value: V): void {
    if (digest.length < DIGEST_KEY_BYTES)
      throw new RangeError(`a digest has at least ${DIGEST_KEY_BYTES} bytes`);
    let slot = this.find(digest);
    if (slot < 0) {
      if (this.count >= this.maxEntries) this.evict();
      if (this.count + 1 > this.capacity * MAX_LOAD && this.capacity < this.maxCapacity) {
        this.grow();
      }
      slot = ~this.find(digest);
      const at = slot * 4;
      this.words[at] = word(digest, 0);
      this.words[at + 1] = word(digest, 4);
      this.words[at + 2] = word(digest, 8);
      this.words[at + 3] = word(digest, 12);
      this.count++;
    }
    this.values[slot] = value;
    this.times[slot] = performance.now();
    // Not marked as in use: an entry looked up again before the hand reaches it is kept, a key seen
    // once (a scan of cold keys) is the first to go.
    this.states[slot] = HELD;
  }

  delete(digest: string): boolean {
    const slot = this.find(digest);
    if (slot < 0) return false;
    this.removeAt(slot);
    return true;
  }

  clear(): void {
    this.count = 0;
    this.allocate(Math.min(MIN_CAPACITY, this.maxCapacity));
  }

  /** The slot holding the digest's key, or, when it is not there, ~(the empty slot ending its run). */
  private find(digest: string): number {
    if (digest.length < DIGEST_KEY_BYTES) return -1;
    const w0 = word(digest, 0);
    const w1 = word(digest, 4);
    const w2 = word(digest, 8);
    const w3 = word(digest, 12);
    const words = this.words;
    const states = this.states;
    const capacity = this.capacity;
    let slot = this.home(w0, w1, w2, w3);
    while (states[slot] !== EMPTY) {
      const at = slot * 4;
      if (words[at] === w0 && words[at + 1] === w1 && words[at + 2] === w2 && words[at + 3] === w3) {
        return slot;
      }
      if (++slot === capacity) slot = 0;
    }
    return ~slot;
  }

  /**
   * Multiply-shift over the four words with this table's random multipliers, keeping the top bits of the
   * 32-bit sum: scaled to the capacity (hash / 2^32 is exact and below 1, so the slot is below it).
   */
  private home(w0: number, w1: number, w2: number, w3: number): number {
    const m = this.multipliers;
    const hash =
      (Math.imul(w0, m[0]!) + Math.imul(w1, m[1]!) + Math.imul(w2, m[2]!) + Math.imul(w3, m[3]!)) >>> 0;
    return Math.floor((hash / 4_294_967_296) * this.capacity);
  }

  private homeOfSlot(slot: number): number {
    const words = this.words;
    const at = slot * 4;
    return this.home(words[at]!, words[at + 1]!, words[at + 2]!, words[at + 3]!);
  }

  /**
   * Empties the slot and moves back each later entry of its run that may live there (Knuth's algorithm R):
   * an entry stays only if its home lies cyclically after the hole and at or before where it is.
   */
  private removeAt(slot: number): void {
    const capacity = this.capacity;
    const states = this.states;
    let hole = slot;
    let next = slot;
    for (;;) {
      if (++next === capacity) next = 0;
      if (states[next] === EMPTY) break;
      const home = this.homeOfSlot(next);
      const stays = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (stays) continue;
      this.move(next, hole);
      hole = next;
    }
    states[hole] = EMPTY;
    this.values[hole] = undefined;
    this.count--;
  }

  private move(from: number, to: number): void {
    this.words.copyWithin(to * 4, from * 4, from * 4 + 4);
    this.values[to] = this.values[from];
    this.times[to] = this.times[from]!;
    this.states[to] = this.states[from]!;
  }

  /**
   * Second chance: sweeps from the hand, clearing the mark of entries in use, and evicts the first that is
   * unmarked or expired. Ends within two turns (the first clears every mark). After an eviction the hand
   * stays on the emptied slot: the entries moved back into it (see `removeAt`) are still ahead of it.
   */
  private evict(): void {
    const capacity = this.capacity;
    const states = this.states;
    const now = performance.now();
    for (;;) {
      const slot = this.hand;
      this.hand = slot + 1 === capacity ? 0 : slot + 1;
      const state = states[slot];
      if (state === EMPTY) continue;
      if (state === HIT && now - this.times[slot]! <= this.ttlMs) {
        states[slot] = HELD;
        continue;
      }
      this.removeAt(slot);
      this.hand = slot;
      return;
    }
  }

  /** Doubles the slots (up to the bound's capacity) and puts every entry back, marks and times kept. */
  private grow(): void {
    const { capacity, words, values, times, states } = this;
    this.allocate(Math.min(capacity * 2, this.maxCapacity));
    for (let from = 0; from < capacity; from++) {
      if (states[from] === EMPTY) continue;
      const at = from * 4;
      const w0 = words[at]!;
      const w1 = words[at + 1]!;
      const w2 = words[at + 2]!;
      const w3 = words[at + 3]!;
      let slot = this.home(w0, w1, w2, w3);
      while (this.states[slot] !== EMPTY) if (++slot === this.capacity) slot = 0;
      const to = slot * 4;
      this.words[to] = w0;
      this.words[to + 1] = w1;
      this.words[to + 2] = w2;
      this.words[to + 3] = w3;
      this.values[slot] = values[from];
      this.times[slot] = times[from]!;
      this.states[slot] = states[from]!;
    }
  }

  private allocate(capacity: number): void {
    this.capacity = capacity;
    this.words = new Int32Array(capacity * 4);
    this.values = new Array<V | undefined>(capacity).fill(undefined);
    this.times = new Float64Array(capacity);
    this.states = new Uint8Array(capacity);
    this.hand = 0;
  }
}

/** Bytes i to i+3 of a latin1 string as one little-endian 32-bit word. */
function word(text: string, i: number): number {
  return (
    text.charCodeAt(i) |
    (text.charCodeAt(i + 1) << 8) |
    (text.charCodeAt(i + 2) << 16) |
    (text.charCodeAt(i + 3) << 24)
  );
}
