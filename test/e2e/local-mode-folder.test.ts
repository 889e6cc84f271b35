import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { type Rekey, startRekey } from '../../src/app.ts';
import { systemClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { LOCAL_MODE_MARKER, localModeRefusal } from '../../src/local/local-mode-folder.ts';
import { seedDemoKeys } from '../../src/local/seed-demo-keys.ts';
import { projectWithData } from '../support/prepared-data-dir.ts';
import { cliActor } from '../support/test-services.ts';

/** What `npm start` does with no Slack credentials and no DATABASE_URL, on `dir`. */
async function start(dir: string): Promise<Rekey> {
  const rekey = await startRekey(loadConfig({ PORT: '0', REKEY_DATA_DIR: dir, LOG_LEVEL: 'silent' }), {
    logger: pino({ level: 'silent' }),
  });
  if (rekey.localMode) await seedDemoKeys(rekey.services, () => {});
  return rekey;
}

async function pageStatus(rekey: Rekey) {
  return (await fetch(`${rekey.url}/local/api/state?user=U0LINUS`)).status;
}

/**
 * A folder local mode made, as its first start leaves it: created and marked (that start itself, from
 * no ./data to a running local mode with its mark, is test/e2e/embedded-default.test.ts). A prepared
 * copy with the mark, so these tests do not each pay an initdb.
 */
async function localModeFolder(prefix: string): Promise<string> {
  const dir = join(await projectWithData(prefix), 'data');
  writeFileSync(join(dir, LOCAL_MODE_MARKER), '');
  return dir;
}

it('runs on the folder it made, keeps running there, adopts an earlier version’s demo folder, and stops once the CLI adds a key', async () => {
  const dir = await localModeFolder('rekey-local-folder-');
  const marker = join(dir, LOCAL_MODE_MARKER);

  let rekey = await start(dir);
  try {
    expect(rekey.localMode).toBe(true);
    expect(await pageStatus(rekey)).toBe(200);
  } finally {
    await rekey.close();
  }

  // The previous version's local mode left demo keys and no marker: still local mode's own folder.
  rmSync(marker);
  rekey = await start(dir);
  try {
    expect(rekey.localMode).toBe(true);
    expect(rekey.localModeRefused).toBeUndefined();
    expect(existsSync(marker)).toBe(true);
    expect((await rekey.services.listKeys()).map((k) => k.name)).toEqual(['payments-api', 'search-api']);
    // A real key arrives (the CLI, as in `npx rekey keys create`).
    await rekey.services.createKey({ name: 'billing', actor: cliActor });
  } finally {
    await rekey.close();
  }

  rekey = await start(dir);
  try {
    expect(rekey.localMode).toBe(false);
    expect(await pageStatus(rekey)).toBe(404);
    expect(rekey.services.deps.admins).not.toContain('U0LINUS');
    expect(rekey.localModeRefused).toContain('holds keys that local mode did not create (such as "billing")');
    expect((await rekey.services.listKeys()).map((k) => k.name)).toEqual([
      'billing',
      'payments-api',
      'search-api',
    ]);
  } finally {
    await rekey.close();
  }
}, 240_000);

it('keeps running on its folder after a demo admin created a key on the page, but not once the folder lost its mark', async () => {
  const dir = await localModeFolder('rekey-local-page-key-');
  const rekey = await start(dir);
  try {
    expect(rekey.localMode).toBe(true);
    // What New key… on the page does: Linus, a demo admin, creates a key through Slack.
    await rekey.services.createKey({
      name: 'made-on-the-page',
      maintainers: ['U0ADA'],
      actor: { id: 'U0LINUS', source: 'slack' },
    });
    // What the next start decides on this folder (startRekey asks localModeRefusal at each start; the
    // restarts themselves are the test above): local mode again…
    const nextStart = () => localModeRefusal(dir, rekey.database, systemClock);
    expect(await nextStart()).toBeUndefined();
    // …but without local mode's mark, a key created from Slack could be a real workspace's.
    rmSync(join(dir, LOCAL_MODE_MARKER));
    expect(await nextStart()).toContain('such as "made-on-the-page"');
  } finally {
    await rekey.close();
  }
}, 240_000);

it('refuses an empty folder the CLI created: no page, and says the folder may be deleted', async () => {
  // Empty, as `npx rekey keys list` on a new project leaves it. (That `npm start` prints the reason is
  // asserted in test/e2e/npm-start.test.ts.)
  const dir = join(await projectWithData('rekey-cli-empty-'), 'data');
  const rekey = await start(dir);
  try {
    expect(rekey.localMode).toBe(false);
    expect((await fetch(`${rekey.url}/`)).status).toBe(404);
    expect(await pageStatus(rekey)).toBe(404);
    expect(rekey.localModeRefused).toContain('created by the admin CLI or by rekey connected to Slack');
    expect(rekey.localModeRefused).toContain('if you do not need it, delete it and start again');
    // Nothing seeded (start() seeds as `npm start` does when local mode runs), nothing marked.
    expect(await rekey.services.listKeys()).toEqual([]);
  } finally {
    await rekey.close();
  }
  expect(existsSync(join(dir, LOCAL_MODE_MARKER))).toBe(false);
}, 120_000);
