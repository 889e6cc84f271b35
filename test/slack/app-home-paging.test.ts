import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ids } from '../../src/slack/ids.ts';
import { createTestKey } from '../support/fixtures.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, testServices } from '../support/test-services.ts';
import { KEY_STRING, type SlackHarness, startSlackHarness } from './harness.ts';
import { type HomeShown, HomeUser } from './home-driver.ts';

/** Six pages of 20, and more keys than a modal's select may list (100). */
const KEY_COUNT = 120;
const IN_GRACE = 45;

let database: TestDatabase;
let h: SlackHarness;
const allIds: string[] = [];
const inGraceIds = new Set<string>();
beforeAll(async () => {
  database = await openTestDatabase();
  h = await startSlackHarness(database, { admins: ['UADMIN'] });
  // Made through services of their own, as the CLI would: the harness's Home publisher is not told of
  // each of these 165 changes (republishing UMANY's Home after each is not what these tests are about).
  const setup = testServices(database);
  for (let i = 0; i < KEY_COUNT; i++) {
    const name = `key-${String(i).padStart(3, '0')}`;
    const created = await createTestKey(setup, { name, maintainers: ['UMANY'] });
    allIds.push(created.key.id);
  }
  // Keys in grace have the biggest cards (an extra block): fill the first pages with them.
  for (const id of allIds.slice(0, IN_GRACE)) {
    await setup.rotateKey({
      key: { id },
      delay: '24h',
      actor: cliActor,
      acknowledged: true,
      requestId: `paging:${id}`,
    });
    inGraceIds.add(id);
  }
  await h.slack.home.settled();
}, 120_000);
afterAll(async () => {
  await h.close();
  await database.close();
});

const cardIds = (home: HomeShown) =>
  home.blocks
    .map((b) => String(b.block_id ?? ''))
    .filter((id) => id.startsWith(ids.home.cardBlockPrefix))
    .map((id) => id.slice(ids.home.cardBlockPrefix.length));

/** Opens the Home and presses Next until there is none, returning every page seen. */
async function walkAllPages(user: HomeUser): Promise<HomeShown[]> {
  const pages = [await user.openHome()];
  for (;;) {
    const [next] = user.buttons(ids.home.nextPage);
    if (!next) return pages;
    expect(pages.length).toBeLessThan(KEY_COUNT); // a pager that never ends would fail here
    pages.push(await user.nextPublish(() => user.press(next)));
  }
}

describe(`App Home with ${KEY_COUNT} keys`, () => {
  it('pages the cards so every published view stays within 100 blocks and every key is reachable', async () => {
    const many = new HomeUser(h, 'UMANY');
    const pages = await walkAllPages(many);

    expect(pages.length).toBe(Math.ceil(KEY_COUNT / 20));
    const seen = pages.flatMap(cardIds);
    expect(seen).toHaveLength(KEY_COUNT);
    expect(new Set(seen)).toEqual(new Set(allIds));
    // Keys in grace come first.
    expect(new Set(seen.slice(0, IN_GRACE))).toEqual(inGraceIds);

    const published = h.fake.callsTo('views.publish').filter((c) => c.params.user_id === 'UMANY');
    expect(published.length).toBeGreaterThanOrEqual(pages.length);
    for (const call of published) {
      expect(call.outcome).toBe('ok');
      const view = call.params.view as HomeShown;
      expect(view.blocks.length).toBeLessThanOrEqual(100);
      expect(JSON.stringify(view)).not.toMatch(KEY_STRING);
    }
    const last = pages.at(-1)!;
    expect(JSON.stringify(last)).toContain(`Page ${pages.length} of ${pages.length}`);
  });

  it('puts nothing but a page number in the pager buttons, and goes back with Previous', async () => {
    const many = new HomeUser(h, 'UMANY');
    await many.openHome(); // where the last test left them: the last page
    const [previous] = many.buttons(ids.home.previousPage);
    expect(previous?.value).toMatch(/^\d+$/);
    const before = await many.nextPublish(() => many.press(previous!));
    for (const button of [...many.buttons(ids.home.previousPage), ...many.buttons(ids.home.nextPage)]) {
      expect(button.value).toMatch(/^\d+$/);
      expect(Object.keys(button).sort()).toEqual(['action_id', 'text', 'type', 'value']);
    }
    const total = Math.ceil(KEY_COUNT / 20);
    expect(JSON.stringify(before)).toContain(`Page ${total - 1} of ${total}`);
  });

  it('shows an admin every key, and Rotate… on the last page preselects that key in the modal', async () => {
    const admin = new HomeUser(h, 'UADMIN');
    const pages = await walkAllPages(admin);
    expect(JSON.stringify(pages[0])).toContain(`all ${KEY_COUNT} keys`);
    expect(new Set(pages.flatMap(cardIds))).toEqual(new Set(allIds));

    const lastKey = cardIds(pages.at(-1)!).at(-1)!;
    await admin.press(admin.cardButton(lastKey, ids.home.rotate)!);
    const modal = await admin.waitForModal();
    expect(modal.callback_id).toBe(ids.views.choose);
    const keyInput = modal.blocks.find((b) => b.block_id === ids.blocks.key) as {
      element: { initial_option?: { value: string }; options: unknown[] };
    };
    expect(keyInput.element.initial_option?.value).toBe(lastKey);
    expect(keyInput.element.options.length).toBeLessThanOrEqual(100);
  });
});
