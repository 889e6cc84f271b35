import { connect } from 'node:net';
import { expect, it } from 'vitest';
import { projectWithData } from '../support/prepared-data-dir.ts';
import { startRekeyProcess } from '../support/spawn-rekey.ts';

/*
 * node on its own (no npm in between), so each Ctrl-C is exactly one SIGINT: the first starts the
 * graceful shutdown, the second is told to wait, the third leaves at once. A request held open keeps the
 * shutdown going (it waits for requests in flight) while the signals arrive one by one.
 */
it('a third Ctrl-C exits at once with code 130, saying what is lost; the first two leave the shutdown running', async () => {
  const cwd = await projectWithData('rekey-third-ctrl-c-');
  const rekey = await startRekeyProcess({
    cwd,
    env: { REKEY_API_TOKENS: 'third-ctrl-c-gateway-token-0000000000' },
  });
  const { port, hostname } = new URL(rekey.url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    'POST /v1/keys/verify HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 20\r\n\r\n{"k',
  );
  try {
    rekey.child.kill('SIGINT');
    await rekey.printed('shutting down');
    rekey.child.kill('SIGINT');
    await rekey.printed('press Ctrl-C again to exit at once');
    expect(rekey.child.exitCode).toBeNull();
    rekey.child.kill('SIGINT');
    expect(await rekey.exited).toBe(130);
    expect(rekey.output()).toContain('third Ctrl-C: exiting now without finishing the shutdown');
  } finally {
    socket.destroy();
    if (rekey.child.exitCode === null) rekey.child.kill('SIGKILL');
  }
}, 60_000);
