import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Clock } from '../clock.ts';
import { KeyChanges } from '../services/key-changes.ts';
import { createServices, type Services } from '../services/services.ts';
import type { Database } from '../store/database.ts';
import { isDemoUser } from './demo-workspace.ts';
import { LOCAL_SEED_ACTOR } from './seed-demo-keys.ts';

/** Written by local mode into a folder it created; its presence is what lets local mode run there again. */
export const LOCAL_MODE_MARKER = 'local-mode';

const MARKER_TEXT =
  'This rekey data folder was made by local mode (no Slack credentials). Local mode runs here only\n' +
  'while every key in it is one of its demo keys.\n';

/**
 * The first live key that local mode did not create, if any. Local mode creates keys by its seed and,
 * in a folder it marked, on its page (New key… by a demo user); a key created from Slack by a demo
 * user id in an unmarked folder is foreign, since a real workspace could have such an id.
 */
async function firstForeignKey(services: Services, marked: boolean): Promise<string | undefined> {
  for (const key of await services.listKeys()) {
    const { events } = await services.keyAudit({ id: key.id });
    // No creation on record (a row written by hand) counts as foreign too.
    const created = events.find((e) => e.action === 'create');
    const seeded = created?.actor === LOCAL_SEED_ACTOR;
    const madeOnPage = marked && created?.source === 'slack' && isDemoUser(created.actor);
    if (!(seeded || madeOnPage)) return key.name;
  }
  return undefined;
}

/**
 * Local mode makes its demo users admins of every key in its folder, and its page lets anyone on this
 * machine act as them. A production install on the embedded database whose Slack secret failed to
 * mount must not become that, so local mode runs only on a folder it made itself: one it created (the
 * marker is written at that first start), or one from an earlier version's local mode (no marker, but
 * every key is a demo key it seeded). Even then, a key created any other way (the CLI) stops it. An
 * empty folder that something else created is refused too: local mode would seed demo keys into it,
 * whose strings were printed to a terminal and would keep working once Slack is connected.
 * Returns why it may not run, or undefined when it may (and the folder is then marked).
 */
export async function localModeRefusal(
  dataDir: string,
  database: Database,
  clock: Clock,
): Promise<string | undefined> {
  // Nothing outlives the process: nothing real can be in it.
  if (dataDir.startsWith('memory://')) return undefined;
  const dir = resolve(dataDir);
  const marker = join(dir, LOCAL_MODE_MARKER);
  // Read-only here: it lists keys and their histories, so no prefix, admins or listeners matter.
  const services = createServices({
    db: database.db,
    clock,
    changes: new KeyChanges(),
    keyPrefix: '',
    admins: [],
  });
  const marked = existsSync(marker);
  const foreign = await firstForeignKey(services, marked);
  let reason: string | undefined;
  if (foreign !== undefined) {
    reason = `it holds keys that local mode did not create (such as "${foreign}")`;
  } else if (!marked && !database.created && (await services.listKeys()).length === 0) {
    reason =
      'it was created by the admin CLI or by rekey connected to Slack, not by local mode ' +
      '(it holds no keys: if you do not need it, delete it and start again)';
  }
  if (reason === undefined) {
    if (!marked) writeFileSync(marker, MARKER_TEXT);
    return undefined;
  }
  return (
    `Local mode did not start on ${dir}: ${reason}. Local mode makes its demo users admins of every key ` +
    'in its folder and lets anyone on this machine act as them, so it runs only on a folder it created. ' +
    'Serving the verify API only. To connect to Slack, set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET. ' +
    'To try local mode, give it its own folder: REKEY_DATA_DIR=./local-data npm start'
  );
}
