import { createServer, type Server, type Socket } from 'node:net';
import type { Database } from '../../src/store/database.ts';
import { openPostgres } from '../../src/store/open-postgres.ts';

export interface TcpProxy {
  port: number;
  /** Drops every open connection and refuses new ones (each is closed as soon as it arrives). */
  cut(): void;
  /** Lets connections through again. */
  restore(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy to `target` on a free loopback port: the database "goes away" without stopping it.
 * `onClientData` sees every byte each client sends (connections numbered from 1), e.g. to read what a
 * driver really says on the wire.
 */
export async function startTcpProxy(
  target: { host: string; port: number },
  options: { onClientData?: (connection: number, chunk: Buffer) => void } = {},
): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let refusing = false;
  let connections = 0;
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = new (client.constructor as typeof Socket)();
    const connection = ++connections;
    if (options.onClientData) client.on('data', (chunk: Buffer) => options.onClientData!(connection, chunk));
    track(client);
    track(upstream);
    upstream.connect(target.port, target.host);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    cut() {
      refusing = true;
      for (const socket of open) socket.destroy();
    },
    restore() {
      refusing = false;
    },
    close() {
      refusing = true;
      for (const socket of open) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The PostgreSQL database at `url` reached through a TCP proxy of its own: a replica that can be cut
 * off from the database (and its LISTEN) while everything else still reaches it.
 */
export async function openThroughProxy(url: string): Promise<{ proxy: TcpProxy; database: Database }> {
  const target = new URL(url);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const viaProxy = new URL(url);
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  return { proxy, database: await openPostgres(viaProxy.toString()) };
}
