import { expect, it } from 'vitest';
import { projectWithData } from '../support/prepared-data-dir.ts';
import { runCliOnFolder } from '../support/run-cli-in-process.ts';
import { runCliProcess } from '../support/spawn-rekey.ts';

const TOKEN = /rk_live_[0-9A-Za-z]{38}/g;

/*
 * `npx rekey` as the README runs it: bin/rekey.js, through tsx, in a project folder. Its commands
 * themselves are test/cli/; here, that the binary starts, writes ./data and exits with the codes the
 * README gives.
 */
it('runs from bin/rekey.js with no build step, on the embedded database', async () => {
  // An existing ./data: creating the folder is the same openDatabase the other e2e tests start rekey with.
  const cwd = await projectWithData('rekey-cli-');
  const created = await runCliProcess(['keys', 'create', '--name', 'from-bin'], { cwd });
  expect(created.code).toBe(0);
  expect(created.stdout.match(TOKEN)).toHaveLength(1);
  const bad = await runCliProcess(['keys', 'rotate', 'from-bin', '--delay', '1h'], { cwd });
  expect(bad.code).toBe(2);
  // The first process left the key in ./data (read here without a third process).
  const listed = await runCliOnFolder(['keys', 'list', '--json'], cwd);
  expect(JSON.parse(listed.out)).toEqual([expect.objectContaining({ name: 'from-bin' })]);
}, 180_000);
