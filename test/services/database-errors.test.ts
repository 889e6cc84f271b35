import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as schema from '../../db/schema/index.ts';
import { isAppError } from '../../src/errors.ts';
import { KeyChanges } from '../../src/services/key-changes.ts';
import { createServices, type Services } from '../../src/services/services.ts';
import { userMessageFor } from '../../src/slack/slack-errors.ts';
import type { Db } from '../../src/store/database.ts';
import { postgresError } from '../../src/store/postgres-error.ts';
import { createTestKey } from '../support/fixtures.ts';
import { manualClock } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, testServices, uniqueName } from '../support/test-services.ts';

/** Everything a service can be asked, against a database handle that fails in one particular way. */
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

function servicesOn(url: string): Services {
  const client = postgres(url, { max: 1, connect_timeout: 0.5, onnotice: () => {} });
  closers.push(() => client.end({ timeout: 0 }));
  return createServices({
    db: drizzle(client, { schema }) as unknown as Db,
    clock: manualClock(),
    changes: new KeyChanges(),
    keyPrefix: 'rk_live',
    admins: [],
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `postgres://rekey@127.0.0.1:${(server.address() as AddressInfo).port}/rekey`;
}

/** What PostgreSQL sends when it refuses a connection: a FATAL ErrorResponse with its SQLSTATE. */
function fatalResponse(code: string, message: string): Buffer {
  const fields = Buffer.concat(
    [`SFATAL`, `VFATAL`, `C${code}`, `M${message}`]
      .map((f) => Buffer.from(`${f}\0`))
      .concat(Buffer.from([0])),
  );
  const head = Buffer.alloc(5);
  head.write('E', 0);
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}

/** A server that answers every connection's startup with `code`, like a server starting up or full. */
async function serverRefusingWith(code: string): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('data', () => socket.end(fatalResponse(code, `refused with ${code}`)));
    socket.on('error', () => {});
  });
  const url = await listen(server);
  closers.push(async () => {
    for (const socket of sockets) socket.destroy();
  });
  return url;
}

async function expectUnavailable(work: Promise<unknown>, driverCode: string) {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', retryable: true });
  expect(isAppError(error) && error.message).toContain(driverCode);
  expect(userMessageFor(error, 'rotate')).toContain('could not reach its database');
  expect(userMessageFor(error, 'rotate')).toContain('run `/rotate-key` again in a minute');
}

const rotation = {
  key: { name: 'anything' },
  delay: '1h' as const,
  actor: cliActor,
  acknowledged: true,
  requestId: 'db-errors-1',
};

describe('a database that cannot be reached', () => {
  it('is DATABASE_UNAVAILABLE, retryable, when the connection is refused', async () => {
    const server = createServer();
    const url = await listen(server);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const services = servicesOn(url);
    await expectUnavailable(services.rotateKey(rotation), 'ECONNREFUSED');
    await expectUnavailable(services.listKeys(), 'ECONNREFUSED');
  });

  it('is DATABASE_UNAVAILABLE when the server accepts the connection but never answers', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    const url = await listen(server);
    // Runs before the server's close, which waits for its connections.
    closers.push(async () => {
      for (const socket of sockets) socket.destroy();
    });
    const services = servicesOn(url);
    await expectUnavailable(services.endGrace({ ...rotation, key: { name: 'anything' } }), 'CONNECT_TIMEOUT');
  });

  it.each([
    ['08006', 'connection failure'],
    ['08004', 'the server rejected the connection'],
    ['57P01', 'the server is shutting down'],
    ['57P03', 'the server is starting up'],
    ['53300', 'the server has no connection slot left'],
  ])('is DATABASE_UNAVAILABLE when the server answers %s (%s)', async (code) => {
    const services = servicesOn(await serverRefusingWith(code));
    await expectUnavailable(services.rotateKey(rotation), code);
    await expectUnavailable(
      services.keyToManage({ userId: 'U1', key: { name: 'x' }, action: 'rotate' }),
      code,
    );
  });
});

describe('any other database error', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase();
    // A fault only this test's names trigger, standing in for any error the code did not expect.
    await database.db.execute(sql`
      create function rekey_test_fault() returns trigger as $$
      begin
        if new.name like 'fault-%' then
          raise exception 'injected fault' using errcode = 'invalid_parameter_value';
        end if;
        return new;
      end $$ language plpgsql`);
    await database.db.execute(
      sql`create trigger rekey_test_fault before insert on keys for each row execute function rekey_test_fault()`,
    );
  });
  afterAll(() => database.close());

  it('is INTERNAL, not retryable, keeps the driver error as its cause, and never blames the connection', async () => {
    const services = testServices(database);
    const error = await createTestKey(services, { name: uniqueName('fault') }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'INTERNAL', retryable: false });
    expect(postgresError(error)?.code).toBe('22023');
    expect(isAppError(error) && error.message).toContain('SQLSTATE 22023');
    const told = userMessageFor(error, 'rotate');
    expect(told).toContain('unexpected error');
    expect(told).toContain('Nothing was changed');
    expect(told).not.toContain('could not reach');
    expect(await services.listKeys()).toEqual([]);
  });

  it('leaves our own refusals as they were', async () => {
    const services = testServices(database);
    await expect(services.showKey({ name: 'no-such-key' })).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
  });
});
