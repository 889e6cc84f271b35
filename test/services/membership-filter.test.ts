import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MembershipFilter } from '../../src/services/membership-filter.ts';

/** fast-check prints this seed (and the failing case's path) when a property fails. */
const SEED = 260_126;

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

/** A filter of `members` random hashes (sized for exactly that many), and the share of `probes` non-members it lets through. */
function falseMaybeRate(members: number, probes: number, sizedFor = members): number {
  const filter = new MembershipFilter(sizedFor, new Int32Array([0x1234567, -0x7654321]));
  filter.addPrefixes(randomBytes(members * 8));
  const probe = randomBytes(probes * 8);
  let maybes = 0;
  for (let at = 0; at < probe.length; at += 8) {
    if (filter.mayContain(probe.readInt32BE(at), probe.readInt32BE(at + 4))) maybes++;
  }
  return maybes / probes;
}

describe('membership filter of secret hashes', () => {
  it('never rules out a hash it was given, whatever the set, the filter size and the way it was added', () => {
    const sha256 = fc.uint8Array({ minLength: 32, maxLength: 32 });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(sha256, fc.constantFrom('hex', 'packed')), { maxLength: 2_000 }),
        // Sized for fewer secrets than it is given, too: a filter past its capacity must still be right.
        fc.nat({ max: 4_000 }),
        fc.tuple(fc.integer(), fc.integer()),
        (members, sizedFor, [k0, k1]) => {
          const filter = new MembershipFilter(sizedFor, new Int32Array([k0, k1]));
          const packed = members.filter(([, how]) => how === 'packed').map(([hash]) => hash.subarray(0, 8));
          filter.addPrefixes(Buffer.concat(packed));
          for (const [hash, how] of members) if (how === 'hex') filter.addHex(hex(hash));
          expect(filter.size).toBe(members.length);
          for (const [hash] of members) {
            if (!filter.mayContainDigest(latin1(hash))) return false;
          }
          return true;
        },
      ),
      { seed: SEED, numRuns: 100 },
    );
  });

  it('keys its positions: the same hash lands elsewhere in a filter with another key', () => {
    // Overfull (3 000 secrets in the smallest filter), so made-up keys get through often enough to find.
    const hashes = Array.from({ length: 3_000 }, () => randomBytes(32));
    const a = new MembershipFilter(0, new Int32Array([1, 2]));
    const b = new MembershipFilter(0, new Int32Array([3, 4]));
    for (const hash of hashes) {
      a.addHex(hex(hash));
      b.addHex(hex(hash));
    }
    // Made-up keys one filter wrongly lets through: the other rules (almost) all of them out.
    const throughA: Buffer[] = [];
    while (throughA.length < 20) {
      const probe = randomBytes(32);
      if (a.mayContainDigest(latin1(probe))) throughA.push(probe);
    }
    expect(throughA.filter((probe) => b.mayContainDigest(latin1(probe))).length).toBeLessThan(5);
  });

  it('lets through about 5 in 100 000 made-up keys at 30 bits per secret, and under 3 in 10 000 when full', () => {
    // The figures the README gives: a filter built for its secrets, and one grown to its capacity.
    const built = falseMaybeRate(100_000, 1_000_000);
    const full = falseMaybeRate(125_000, 1_000_000, 100_000);
    console.log(`false "maybe" rate: ${built} as built, ${full} at capacity`);
    expect(built).toBeLessThan(1e-4);
    expect(full).toBeLessThan(3e-4);
  });

  it('takes 3.75 bytes per secret as built, and at least 3 KB', () => {
    expect(new MembershipFilter(1_000_000).bytes).toBeLessThanOrEqual(3_750_016);
    expect(new MembershipFilter(1_000_000).capacity).toBe(1_250_000);
    expect(new MembershipFilter(0).bytes).toBe(3_072);
  });
});
