import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, chromiumPath } from '../support/chromium.ts';
import { PROJECT_ROOT, type RunningRekey, startRekeyProcess } from '../support/spawn-rekey.ts';

const API_TOKEN = 'browser-test-token-0123456789abcdef';
const SHOTS = join(PROJECT_ROOT, 'test-results', 'local-mode');
const TOKEN = /rk_live_[0-9A-Za-z]{38}/;

let rekey: RunningRekey;
let startupMs = 0;
let browser: Browser;
/** The demo keys printed once in the terminal at first start: name → key string. */
const seeded = new Map<string, string>();

/** The project folder `npm start` runs in: removed at the end, demo keys and all. */
let cwd: string;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  cwd = mkdtempSync(join(tmpdir(), 'rekey-local-'));
  // The README's command, as a newcomer runs it (only the data folder moved out of the checkout).
  const started = performance.now();
  rekey = await startRekeyProcess({
    cwd,
    npmStart: true,
    env: { REKEY_API_TOKENS: API_TOKEN, REKEY_DATA_DIR: join(cwd, 'data') },
  });
  startupMs = performance.now() - started;
  for (const match of rekey.output().matchAll(/^\s+(\S+)\s+(rk_live_[0-9A-Za-z]{38})\s+maintainers/gm)) {
    seeded.set(match[1]!, match[2]!);
  }
  browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  if (rekey) expect(await rekey.stop()).toBe(0);
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

async function openAs(user: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${rekey.url}/`);
  await page.locator('#user-switcher').selectOption(user);
  return page;
}

async function command(page: Page, text: string) {
  await page.locator('#composer-input').fill(text);
  await page.locator('#composer-input').press('Enter');
}

async function verify(key: string) {
  const res = await fetch(`${rekey.url}/v1/keys/verify`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key }),
  });
  return res.json();
}

describe('local mode in a browser', () => {
  it('npm start on an empty data folder serves the page within a minute', async () => {
    expect(startupMs).toBeLessThan(60_000);
    const page = await fetch(`${rekey.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Local simulation');
  });

  it('seeds demo keys on first start, prints them once and says where to go', () => {
    expect([...seeded.keys()]).toEqual(['payments-api', 'search-api']);
    expect(rekey.output()).toContain(`Local mode: open ${rekey.url}/`);
  });

  it('a maintainer rotates a key end to end, verifies the new key, and sees both keys on the Home card', async () => {
    const page = await openAs('U0ADA');
    await command(page, '/rotate-key payments-api');
    const modal = page.locator('#modal');
    await expect.poll(() => modal.isVisible(), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => modal.textContent()).toContain('Rotation cannot be undone');
    await page.screenshot({ path: join(SHOTS, '1-modal.png') });

    // Without the acknowledgement: the error shows under the checkbox and nothing changes.
    await modal.getByLabel('3 hours').check();
    await modal.locator('button[type=submit]').click();
    const error = modal.locator('.bk-input-invalid .bk-error');
    await expect.poll(() => error.textContent(), { timeout: 10_000 }).toMatch(/understand|acknowledg/i);
    expect(await verify(seeded.get('payments-api')!)).toMatchObject({ valid: true, status: 'active' });

    await modal.getByLabel('I understand that rotation cannot be undone').check();
    await modal.locator('button[type=submit]').click();
    await expect.poll(() => modal.textContent(), { timeout: 10_000 }).toContain('shown once');
    await page.screenshot({ path: join(SHOTS, '2-review.png') });

    await modal.locator('button[type=submit]').click();
    await expect
      .poll(async () => TOKEN.test((await modal.textContent()) ?? ''), { timeout: 10_000 })
      .toBe(true);
    await page.screenshot({ path: join(SHOTS, '3-reveal.png') });
    const newKey = TOKEN.exec((await modal.textContent()) ?? '')![0];
    expect(newKey).not.toBe(seeded.get('payments-api'));

    expect(await verify(newKey)).toMatchObject({ valid: true, name: 'payments-api', status: 'active' });
    const old = (await verify(seeded.get('payments-api')!)) as { expiresAt: string };
    expect(old).toMatchObject({ valid: true, status: 'expiring' });
    const hoursLeft = (Date.parse(old.expiresAt) - Date.now()) / 3_600_000;
    expect(hoursLeft).toBeGreaterThan(2.9);
    expect(hoursLeft).toBeLessThanOrEqual(3);

    await modal.locator('[data-close]').first().click();
    await expect.poll(() => page.locator('#modal-layer').isHidden()).toBe(true);
    await page.locator('#open-app').click();
    await page.locator('.tab[data-tab=home]').click();
    const home = page.locator('#home');
    const display = (key: string) => `${key.slice(0, 12)}…${key.slice(-10, -6)}`;
    await expect.poll(() => home.textContent(), { timeout: 10_000 }).toContain(display(newKey));
    const text = (await home.textContent()) ?? '';
    expect(text).toContain(display(seeded.get('payments-api')!));
    expect(text).not.toMatch(TOKEN);
    await page.screenshot({ path: join(SHOTS, '4-home.png'), fullPage: true });
    await page.close();
  });

  it('an outsider gets an ephemeral refusal instead of a modal', async () => {
    const page = await openAs('U0OSCAR');
    await command(page, '/rotate-key');
    const ephemeral = page.locator('.message.ephemeral').last();
    await expect
      .poll(() => ephemeral.textContent(), { timeout: 10_000 })
      .toMatch(/maintain|may rotate|no key/i);
    expect(await page.locator('#modal-layer').isHidden()).toBe(true);
    await page.screenshot({ path: join(SHOTS, '5-outsider.png') });
    // Another user does not see Oscar's ephemeral.
    const other = await openAs('U0GRACE');
    await expect
      .poll(() => other.locator('#messages').textContent())
      .not.toContain((await ephemeral.textContent()) ?? '');
    await page.close();
    await other.close();
  });

  it('an admin creates a key with New key…: people and channel picked on the page, the key shown once and verified', async () => {
    const page = await openAs('U0LINUS');
    await page.locator('#open-app').click();
    await page.locator('.tab[data-tab=home]').click();
    const home = page.locator('#home');
    await home.getByRole('button', { name: 'New key…' }).click();
    const modal = page.locator('#modal');
    await expect.poll(() => modal.textContent(), { timeout: 10_000 }).toContain('Maintainers');

    await modal.locator(`[data-action-id=key_name_input]`).fill('billing-api');
    await modal.locator(`[data-action-id=key_products_input]`).fill('billing, invoices');
    await modal.locator(`[data-action-id=key_maintainers_select]`).selectOption(['U0ADA', 'U0GRACE']);
    await modal.locator(`[data-action-id=key_channel_select]`).selectOption('C0ALERTS');
    await modal.locator(`[data-action-id=key_policy_select]`).selectOption('90d');
    await page.screenshot({ path: join(SHOTS, '6-new-key.png') });
    await modal.locator('button[type=submit]').click();

    await expect
      .poll(async () => TOKEN.test((await modal.textContent()) ?? ''), { timeout: 10_000 })
      .toBe(true);
    const created = TOKEN.exec((await modal.textContent()) ?? '')![0];
    expect(await verify(created)).toMatchObject({
      valid: true,
      name: 'billing-api',
      products: ['billing', 'invoices'],
      status: 'active',
    });
    await page.screenshot({ path: join(SHOTS, '7-new-key-reveal.png') });
    await modal.locator('[data-close]').first().click();

    // Ada, one of the maintainers picked, finds the key on her Home; the alert channel was told.
    const ada = await openAs('U0ADA');
    await ada.locator('#open-app').click();
    await ada.locator('.tab[data-tab=home]').click();
    await expect.poll(() => ada.locator('#home').textContent(), { timeout: 10_000 }).toContain('billing-api');
    await ada.locator('[data-channel=C0ALERTS]').click();
    await expect
      .poll(() => ada.locator('#messages').textContent(), { timeout: 10_000 })
      .toContain('created the key billing-api');
    expect((await ada.locator('#messages').textContent()) ?? '').not.toMatch(TOKEN);
    await page.close();
    await ada.close();
  });
});
