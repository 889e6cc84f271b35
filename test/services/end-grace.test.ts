import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, slackActor, testServices } from '../support/test-services.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

describe('ending a grace period from what the person saw', () => {
  it('ends exactly the old keys shown, leaving the current key working', async () => {
    const services = testServices(database);
    const { key, token } = await createTestKey(services, { maintainers: ['UANN'] });
    const rotation = await rotateTestKey(services, { id: key.id }, '24h');
    const seen = { currentSecretId: rotation.newSecret.id, oldSecretIds: [rotation.oldSecret.id] };
    const result = await services.endGrace({
      key: { id: key.id },
      actor: slackActor('UANN'),
      acknowledged: true,
      seen,
    });
    expect(result).toMatchObject({ status: 'ended', ended: [{ id: rotation.oldSecret.id }] });
    expect(await services.verifyKey(token)).toEqual({ valid: false, code: 'EXPIRED' });
    expect(await services.verifyKey(rotation.token)).toMatchObject({ valid: true, status: 'active' });
  });

  it('ends only the old key a reminder named, never a sibling still in grace it did not show', async () => {
    const services = testServices(database);
    const { key, token } = await createTestKey(services, { maintainers: ['UDAN'] });
    const first = await rotateTestKey(services, { id: key.id }, '24h');
    const second = await rotateTestKey(services, { id: key.id }, '48h');
    // A reminder about the first old key: it shows that one old key and the key's current secret.
    const seen = { currentSecretId: second.newSecret.id, oldSecretIds: [first.oldSecret.id] };
    const result = await services.endGrace({
      key: { id: key.id },
      actor: slackActor('UDAN'),
      acknowledged: true,
      seen,
    });
    expect(result).toMatchObject({ status: 'ended', ended: [{ id: first.oldSecret.id }] });
    expect(await services.verifyKey(token)).toEqual({ valid: false, code: 'EXPIRED' });
    expect(await services.verifyKey(first.token)).toMatchObject({ valid: true, status: 'expiring' });
    expect(await services.verifyKey(second.token)).toMatchObject({ valid: true, status: 'active' });

    // Pressed again (by someone else) once that old key has stopped: nothing to end, and it says so.
    const again = await services
      .endGrace({ key: { id: key.id }, actor: cliActor, acknowledged: true, seen })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(again).toMatchObject({ code: 'NOT_IN_GRACE' });
    expect((again as { userMessage: string }).userMessage).toContain('you were shown has already stopped');
    expect(await services.verifyKey(first.token)).toMatchObject({ valid: true, status: 'expiring' });
  });

  it('ends nothing if the key was rotated after it was seen, and says which old keys still work', async () => {
    const services = testServices(database);
    const { key, token } = await createTestKey(services, { maintainers: ['UBEA', 'UCAL'] });
    const first = await rotateTestKey(services, { id: key.id }, '24h');
    const seen = { currentSecretId: first.newSecret.id, oldSecretIds: [first.oldSecret.id] };
    const second = await rotateTestKey(services, { id: key.id }, '48h', slackActor('UCAL'));
    const error = await services
      .endGrace({ key: { id: key.id }, actor: slackActor('UBEA'), acknowledged: true, seen })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toMatchObject({ code: 'KEY_CHANGED' });
    expect((error as { userMessage: string }).userMessage).toContain(first.newSecret.display);
    expect(await services.verifyKey(first.token)).toMatchObject({ valid: true, status: 'expiring' });
    expect(await services.verifyKey(token)).toMatchObject({ valid: true, status: 'expiring' });
    expect(await services.verifyKey(second.token)).toMatchObject({ valid: true, status: 'active' });
    const { events } = await services.keyAudit({ id: key.id });
    expect(events.filter((e) => e.action === 'end_grace')).toHaveLength(0);
  });

  it('ends the old keys of the seen current key when the list was too long to carry', async () => {
    const services = testServices(database);
    const { key, token } = await createTestKey(services, { maintainers: ['UDAN'] });
    const first = await rotateTestKey(services, { id: key.id }, '72h');
    const second = await rotateTestKey(services, { id: key.id }, '72h');
    const result = await services.endGrace({
      key: { id: key.id },
      actor: slackActor('UDAN'),
      acknowledged: true,
      seen: { currentSecretId: second.newSecret.id },
    });
    expect(result.status === 'ended' && result.ended.map((s) => s.id).sort()).toEqual(
      [first.oldSecret.id, second.oldSecret.id].sort(),
    );
    expect(await services.verifyKey(token)).toEqual({ valid: false, code: 'EXPIRED' });
    expect(await services.verifyKey(first.token)).toEqual({ valid: false, code: 'EXPIRED' });
  });

  it('does it once for the same confirmation sent twice', async () => {
    const services = testServices(database);
    const { key } = await createTestKey(services, { maintainers: ['UEVE'] });
    const rotation = await rotateTestKey(services, { id: key.id }, '24h');
    const input = {
      key: { id: key.id },
      actor: slackActor('UEVE'),
      acknowledged: true,
      seen: { currentSecretId: rotation.newSecret.id, oldSecretIds: [rotation.oldSecret.id] },
    };
    expect((await services.endGrace(input)).status).toBe('ended');
    expect(await services.endGrace(input)).toEqual({ status: 'duplicate', keyName: key.name });
    const { events } = await services.keyAudit({ id: key.id });
    expect(events.filter((e) => e.action === 'end_grace')).toHaveLength(1);
  });

  it('from the CLI, ends every old key in grace now', async () => {
    const services = testServices(database);
    const { key, token } = await createTestKey(services);
    const first = await rotateTestKey(services, { id: key.id }, '24h');
    const second = await rotateTestKey(services, { id: key.id }, '24h');
    await services.endGrace({ key: { name: key.name }, actor: cliActor, acknowledged: true });
    expect(await services.verifyKey(token)).toEqual({ valid: false, code: 'EXPIRED' });
    expect(await services.verifyKey(first.token)).toEqual({ valid: false, code: 'EXPIRED' });
    expect(await services.verifyKey(second.token)).toMatchObject({ valid: true, status: 'active' });
  });
});

describe('who may manage a key, asked by Slack', () => {
  it('names the maintainers to someone who was shown the key but no longer maintains it', async () => {
    const services = testServices(database);
    const { key } = await createTestKey(services, { maintainers: ['UFAY'] });
    await expect(
      services.keyToManage({ userId: 'UGUS', key: { id: key.id }, action: 'end-grace' }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
      userMessage: expect.stringMatching(/no longer a maintainer.*end its grace period.*<@UFAY>/),
    });
  });

  it('answers a typed name the same whether the key is someone else’s, deleted or never existed', async () => {
    const services = testServices(database, { admins: ['UADMIN'] });
    const { key: theirs } = await createTestKey(services, { name: 'kk-theirs', maintainers: ['UHAL'] });
    const { key: gone } = await createTestKey(services, { name: 'kk-gone', maintainers: ['UHAL'] });
    await services.deleteKey({ key: { id: gone.id }, actor: cliActor });
    const answer = (userId: string, name: string) =>
      services.keyToManage({ userId, key: { name }, action: 'rotate' }).then(
        () => 'allowed',
        (e: { code: string; userMessage: string }) => `${e.code}: ${e.userMessage.replaceAll(name, 'NAME')}`,
      );
    const refused = await answer('UIVY', theirs.name);
    expect(refused).toMatch(/^FORBIDDEN: There is no key named "NAME" that you may rotate/);
    expect(await answer('UIVY', gone.name)).toBe(refused);
    expect(await answer('UIVY', 'kk-never')).toBe(refused);
    // Those who may see the key, or saw it, are told the truth.
    expect(await answer('UHAL', theirs.name)).toBe('allowed');
    expect(await answer('UHAL', gone.name)).toMatch(/^KEY_DELETED/);
    expect(await answer('UADMIN', 'kk-never')).toMatch(/^KEY_NOT_FOUND/);
  });
});
