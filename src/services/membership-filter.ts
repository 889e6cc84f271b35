import { getRandomValues } from 'node:crypto';

/**
 * Bits per secret a filter is sized with when built; it takes secrets up to `GROWTH` × that count
 * before it asks to be rebuilt (then 24 bits per secret). False "maybe" rate of a split-block Bloom
 * filter: about 5 × 10⁻⁵ at 30 bits per secret, 1.6 × 10⁻⁴ at 24 (measured by
 * test/services/membership-filter.test.ts). 30 bits is 3.75 bytes: 3.75 MB for a million secrets.
 */
const BITS_PER_SECRET = 30;
const GROWTH = 1.25;
/** The smallest filter: 3 KB, so a handful of keys still rules out nearly every made-up one. */
const MIN_SECRETS = 1_024;
/** 256-bit blocks, 8 words of 32 bits. */
const WORDS_PER_BLOCK = 8;
/**
 * The block is chosen by multiplying a 32-bit word by the block count, exactly in a double only below
 * 2^53: so at most 2^21 blocks (64 MB, about 17 million secrets at 30 bits). Past that the false "maybe"
 * rate grows, and nothing is ever ruled out wrongly.
 */
const MAX_BLOCKS = 2 ** 21;
/** The split-block Bloom filter's odd multipliers, one per word of a block (as Parquet and Impala use). */
const SALTS = new Int32Array([
  0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31,
]);

/**
 * A set of secret hashes that can say "maybe" wrongly but never "no" wrongly: the verify path's way to
 * answer a made-up key NOT_FOUND without the database (docs/architecture.md, "The verify cache across
 * replicas").
 *
 * A split-block Bloom filter: each secret sets one bit in each of the 8 words of one 32-byte block, so
 * a lookup reads one cache line. Its input is the first 64 bits of the secret's SHA-256, which is
 * already uniform: the high word picks the block, the low word the 8 bits. Both are first mixed with a
 * random key of this filter, so the secrets' positions differ per replica and per rebuild: a caller who
 * found a made-up key that one filter wrongly lets through (a lookup is slower, so it could tell) cannot
 * reuse it elsewhere or for long.
 *
 * Secrets are only ever added; the whole filter is rebuilt from the database to drop the ones that
 * stopped verifying (live-secret-filter.ts).
 */
export class MembershipFilter {
  /** Secrets it takes before its false "maybe" rate passes its bound (then rebuild it bigger). */
  readonly capacity: number;
  private readonly words: Int32Array;
  private readonly blocks: number;
  private readonly blockKey: number;
  private readonly bitKey: number;
  private count = 0;

  /** A filter sized for `secrets` secrets plus room to grow; `key` fixes its mixing (tests). */
  constructor(secrets: number, key: Int32Array = getRandomValues(new Int32Array(2))) {
    const sizedFor = Math.max(MIN_SECRETS, Math.ceil(secrets * GROWTH));
    this.blocks = Math.min(MAX_BLOCKS, Math.ceil((sizedFor * (BITS_PER_SECRET / GROWTH)) / 256));
    this.capacity = sizedFor;
    this.words = new Int32Array(this.blocks * WORDS_PER_BLOCK);
    this.blockKey = key[0]!;
    this.bitKey = key[1]!;
  }

  /** Secrets added (repeats counted again: an announcement may arrive twice). */
  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.words.byteLength;
  }

  /** Adds the secret whose hash begins with these two big-endian 32-bit words. */
  add(high: number, low: number): void {
    const base = this.blockOf(high);
    const bits = low ^ this.bitKey;
    for (let i = 0; i < WORDS_PER_BLOCK; i++) {
      this.words[base + i]! |= 1 << (Math.imul(bits, SALTS[i]!) >>> 27);
    }
    this.count++;
  }

  /** False only if no secret added has a hash beginning with these words. */
  mayContain(high: number, low: number): boolean {
    const base = this.blockOf(high);
    const bits = low ^ this.bitKey;
    for (let i = 0; i < WORDS_PER_BLOCK; i++) {
      if ((this.words[base + i]! & (1 << (Math.imul(bits, SALTS[i]!) >>> 27))) === 0) return false;
    }
    return true;
  }

  /** `mayContain` for a SHA-256 digest held as a latin1 string (one character per byte). */
  mayContainDigest(digest: string): boolean {
    return this.mayContain(wordOfDigest(digest, 0), wordOfDigest(digest, 4));
  }

  /** Adds a hash given as hex (what the database stores and announces). */
  addHex(hash: string): void {
    this.add(Number.parseInt(hash.slice(0, 8), 16) | 0, Number.parseInt(hash.slice(8, 16), 16) | 0);
  }

  /** Adds every 8-byte hash prefix packed in `prefixes` (what the store reads). */
  addPrefixes(prefixes: Uint8Array): void {
    for (let at = 0; at + 8 <= prefixes.length; at += 8) {
      this.add(wordOfBytes(prefixes, at), wordOfBytes(prefixes, at + 4));
    }
  }

  /** The first word of the secret's block: the keyed high word scaled to the block count (no modulo bias). */
  private blockOf(high: number): number {
    return Math.floor(((high ^ this.blockKey) >>> 0) * (this.blocks / 2 ** 32)) * WORDS_PER_BLOCK;
  }
}

function wordOfDigest(digest: string, at: number): number {
  return (
    (digest.charCodeAt(at) << 24) |
    (digest.charCodeAt(at + 1) << 16) |
    (digest.charCodeAt(at + 2) << 8) |
    digest.charCodeAt(at + 3)
  );
}

function wordOfBytes(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
}
