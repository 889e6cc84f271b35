import { systemClock } from '../clock.ts';
import { loadConfig } from '../config.ts';
import { KeyChanges } from '../services/key-changes.ts';
import { createServices, type Services } from '../services/services.ts';
import { openDatabase } from '../store/open-database.ts';

/**
 * What a CLI command runs on: the configuration from the environment, the database it names (or
 * ./data, under its lock) and services without Slack. `close` releases the database and its lock.
 */
export async function openCliServices(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ services: Services; close: () => Promise<void> }> {
  const config = loadConfig(env);
  const database = await openDatabase(config);
  try {
    const services = createServices({
      db: database.db,
      clock: systemClock,
      changes: new KeyChanges(),
      keyPrefix: config.REKEY_KEY_PREFIX,
      admins: config.REKEY_ADMINS,
    });
    return { services, close: () => database.close() };
  } catch (error) {
    await database.close();
    throw error;
  }
}
