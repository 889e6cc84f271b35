import fc from 'fast-check';

/**
 * How hard the adversarial suites push. `npm test` runs each property `runs` times from a fixed seed,
 * so a run is repeatable and cheap; `REKEY_PROPERTY_RUNS=500 npx vitest run test/adversarial/` runs
 * many more, and `REKEY_PROPERTY_SEED` replays the seed a failure printed (fast-check prints it with
 * the shrunk counterexample and its `path`).
 */
export const PROPERTY_SEED = Number(process.env.REKEY_PROPERTY_SEED ?? 20_220_806);

export function propertyRuns(runs: number): number {
  const wanted = Number(process.env.REKEY_PROPERTY_RUNS);
  return Number.isInteger(wanted) && wanted > 0 ? wanted : runs;
}

/** Checks `property` from the suite's seed; a failure's message names the seed and path to replay it. */
export async function checkProperty<T>(property: fc.IAsyncProperty<T>, runs: number): Promise<void> {
  await fc.assert(property, {
    seed: PROPERTY_SEED,
    numRuns: propertyRuns(runs),
    // A world that already holds the failure's damage would blur a shrunk counterexample: report the
    // first failure as found, with its seed.
    endOnFailure: true,
  });
}

/** Strings people and tools send by accident or on purpose: empty, huge, control and unicode, markup, paths. */
export function oddString(extra: readonly string[] = []): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ minLength: 3_000, maxLength: 5_000 }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '',
        ' ',
        '\u0000',
        '\n\r\t',
        '<script>alert(1)</script>',
        '*bold* <!channel> <@U0ADMIN>',
        '../../etc/passwd',
        '$' + '{process.exit()}',
        '{"keyId":"x"}',
        '[]',
        'null',
        '-1',
        '1e309',
        'ℌ𝔢𝔩𝔩𝔬 👩🏽‍💻',
        '\uD800',
        'a'.repeat(256),
        ...extra,
      ),
    },
  );
}
