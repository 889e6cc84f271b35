import { randomUUID } from 'node:crypto';
import { keys, secrets } from '../db/schema/index.ts';
import { hashToken } from '../src/keys/hash.ts';
import { displayToken, generateToken } from '../src/keys/token.ts';
import type { Db } from '../src/store/database.ts';

export interface SeededKeys {
  /** The current secret of each key (status active). */
  current: string[];
  /** Old secrets still in their grace period (status expiring). */
  inGrace: string[];
}

/**
 * Seeds `keyCount` keys, each with its current secret and `graceSecretsPerKey` old secrets in a 72 h
 * grace period, generated with the real domain functions and inserted in bulk. The old secrets give
 * the "never seen before" run a large pool of valid keys without inventing more keys.
 */
export async function seedKeys(
  db: Db,
  options: { keyCount: number; graceSecretsPerKey: number; now: Date },
): Promise<SeededKeys> {
  const { now } = options;
  const graceEnds = new Date(now.getTime() + 72 * 3_600_000);
  const current: string[] = [];
  const inGrace: string[] = [];
  const keyRows: (typeof keys.$inferInsert)[] = [];
  const secretRows: (typeof secrets.$inferInsert)[] = [];
  for (let i = 0; i < options.keyCount; i++) {
    const id = randomUUID();
    keyRows.push({
      id,
      name: `bench-key-${String(i).padStart(5, '0')}`,
      products: ['payments-api', 'billing'],
      maintainers: ['UBENCH01'],
      alertChannel: 'CBENCH01',
      createdAt: now,
    });
    for (let s = 0; s <= options.graceSecretsPerKey; s++) {
      const { token, parsed } = generateToken('rk_live');
      const isCurrent = s === 0;
      (isCurrent ? current : inGrace).push(token);
      secretRows.push({
        keyId: id,
        hash: hashToken(token),
        display: displayToken(parsed),
        createdAt: now,
        expiresAt: isCurrent ? null : graceEnds,
      });
    }
  }
  for (let i = 0; i < keyRows.length; i += 2_000) await db.insert(keys).values(keyRows.slice(i, i + 2_000));
  for (let i = 0; i < secretRows.length; i += 5_000) {
    await db.insert(secrets).values(secretRows.slice(i, i + 5_000));
  }
  return { current, inGrace };
}
