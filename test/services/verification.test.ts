import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/keys/token.ts';
import { createVerifyCache } from '../../src/services/verify-cache.ts';
import { createTestKey } from '../support/fixtures.ts';
import { HOUR, manualClock } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, testServices } from '../support/test-services.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

describe('verifying a key', () => {
  it('answers active with the key id, name and products for the current key', async () => {
    const services = testServices(database);
    const { key, token } = await createTestKey(services, { products: ['search', 'ads'] });
    expect(await services.verifyKey(token)).toEqual({
      valid: true,
      keyId: key.id,
      name: key.name,
      products: ['search', 'ads'],
      status: 'active',
      expiresAt: null,
    });
  });

  it('answers expiring until expires_at and EXPIRED exactly at it, by the clock alone', async () => {
    const services = testServices(database);
    const { key, token } = await createTestKey(services);
    const rotatedAt = services.clock.now();
    await services.rotateKey({
      key: { name: key.name },
      delay: '1h',
      actor: cliActor,
      acknowledged: true,
      requestId: `v-${key.id}`,
    });
    const expiresAt = new Date(rotatedAt.getTime() + HOUR);
    services.clock.set(new Date(expiresAt.getTime() - 1));
    expect(await services.verifyKey(token)).toMatchObject({
      valid: true,
      status: 'expiring',
      expiresAt: expiresAt.toISOString(),
    });
    services.clock.set(expiresAt);
    expect(await services.verifyKey(token)).toEqual({ valid: false, code: 'EXPIRED' });
  });

  it('answers NOT_FOUND for a well-formed key it never issued', async () => {
    const services = testServices(database);
    expect(await services.verifyKey(generateToken('rk_live').token)).toEqual({
      valid: false,
      code: 'NOT_FOUND',
    });
  });

  it('answers MALFORMED for a typo without touching the database', async () => {
    const { token } = generateToken('rk_live');
    const typo = `${token.slice(0, 10)}${token[10] === 'Q' ? 'R' : 'Q'}${token.slice(11)}`;
    const lookups: string[] = [];
    const { verify } = createVerifyCache({
      lookupMany: async (hashes) => {
        lookups.push(...hashes);
        return [];
      },
      clock: manualClock(),
      maxEntries: 10,
      ttlMs: 60_000,
    });
    for (const bad of [typo, '', 'hello', 12, null, `${token}x`]) {
      expect(await verify(bad)).toEqual({ valid: false, code: 'MALFORMED' });
    }
    expect(lookups).toEqual([]);
    // The same verifier does look up a well-formed key: the check above is not vacuous.
    expect(await verify(token)).toEqual({ valid: false, code: 'NOT_FOUND' });
    expect(lookups).toHaveLength(1);
  });
});
