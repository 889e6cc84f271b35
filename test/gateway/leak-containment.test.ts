import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RekeyProcess, spawnRekey } from '../http/rekey-process.ts';
import { manualClock } from '../support/manual-clock.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, testServices, uniqueName } from '../support/test-services.ts';
import { type RunningNginx, startGateway } from './nginx.ts';

/** At least 32 characters each, as config requires; each token does one job. */
const GATEWAY_TOKEN = 'leak-gateway-token-0123456789abcdefghij';
const SCANNER_TOKEN = 'leak-scanner-token-0123456789abcdefghij';
/** The goal: a reported `rotate-now` key is refused everywhere within this long. */
const CONTAINED_WITHIN_MS = 2_000;

describe.runIf(onRealPostgres)(
  'automatic containment of a leaked key, through two replicas and nginx',
  () => {
    let database: TestDatabase;
    let replicas: RekeyProcess[] = [];
    let api: Server;
    let nginx: RunningNginx;

    beforeAll(async () => {
      database = await openTestDatabase();
      api = createServer((_req, res) => res.end('ok'));
      await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
      const env = {
        DATABASE_URL: database.url!,
        REKEY_API_TOKENS: GATEWAY_TOKEN,
        REKEY_SCANNER_TOKENS: SCANNER_TOKEN,
        REKEY_DATA_DIR: '/nonexistent',
      };
      replicas = await Promise.all([spawnRekey(env), spawnRekey(env)]);
      nginx = await startGateway({
        rekey: new URL(replicas[0]!.url).host,
        api: `127.0.0.1:${(api.address() as AddressInfo).port}`,
        token: GATEWAY_TOKEN,
      });
    }, 90_000);
    afterAll(async () => {
      await nginx?.stop();
      for (const replica of replicas) {
        replica.child.kill('SIGTERM');
        await replica.exited;
      }
      await new Promise((resolve) => api?.close(resolve));
      await database?.close();
    });

    const verifyOn = async (url: string, key: string) => {
      const res = await fetch(`${url}/v1/keys/verify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${GATEWAY_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ key }),
      });
      return (await res.json()) as { valid: boolean; code?: string };
    };
    const throughNginx = async (key: string) => {
      const res = await fetch(`${nginx.url}/orders/1`, { headers: { 'x-api-key': key } });
      await res.text();
      return { status: res.status, code: res.headers.get('x-rekey-code') };
    };

    it('POST /v1/leaks reporting a rotate-now key’s current secret: refused by verify on every replica and by nginx within 2 s', async () => {
      const services = testServices(database, { clock: manualClock(new Date()) });
      const { key, token } = await services.createKey({
        name: uniqueName('contain'),
        maintainers: ['UADA'],
        onLeak: 'rotate-now',
        actor: cliActor,
      });
      // Every replica has it cached as valid, and nginx lets it through.
      for (const replica of replicas) {
        for (let i = 0; i < 2; i++) expect(await verifyOn(replica.url, token)).toMatchObject({ valid: true });
      }
      expect((await throughNginx(token)).status, nginx.errorLog()).toBe(200);

      const reportedAt = performance.now();
      const res = await fetch(`${replicas[1]!.url}/v1/leaks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SCANNER_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify([{ token, url: 'https://github.com/acme/shop/blob/1/.env', source: 'commit' }]),
      });
      expect(await res.json()).toEqual([{ label: 'true_positive' }]);

      const refusedAfter = async (probe: () => Promise<boolean>) => {
        while (!(await probe())) {
          if (performance.now() - reportedAt > 10_000) return Number.POSITIVE_INFINITY;
          await new Promise((r) => setTimeout(r, 20));
        }
        return performance.now() - reportedAt;
      };
      const [onA, onB, viaNginx] = await Promise.all([
        refusedAfter(async () => (await verifyOn(replicas[0]!.url, token)).code === 'EXPIRED'),
        refusedAfter(async () => (await verifyOn(replicas[1]!.url, token)).code === 'EXPIRED'),
        refusedAfter(async () => {
          const answer = await throughNginx(token);
          return answer.status === 401 && answer.code === 'EXPIRED';
        }),
      ]);
      const said = `replica A ${Math.round(onA)} ms, replica B ${Math.round(onB)} ms, nginx ${Math.round(viaNginx)} ms`;
      expect(onA, said).toBeLessThan(CONTAINED_WITHIN_MS);
      expect(onB, said).toBeLessThan(CONTAINED_WITHIN_MS);
      expect(viaNginx, said).toBeLessThan(CONTAINED_WITHIN_MS);
      const audit = await services.keyAudit({ id: key.id });
      expect(audit.events.filter((e) => e.action === 'rotate')).toMatchObject([
        { actor: 'rekey', delay: 'now' },
      ]);
    }, 60_000);
  },
);
