// Builds the test template in a process of its own (see global-setup.ts): `node <compiled> <target>`.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openPglite } from '../../src/store/open-pglite.ts';

await build(process.argv[2]!);

async function build(target: string) {
  const CACHE = dirname(target);
  const staging = `${target}.${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const database = await openPglite(join(staging, 'data'));
  try {
    // Uncompressed: every worker loads it, and a gunzip per load costs more than the disk it saves.
    const dump = await database.pglite!.dumpDataDir('none');
    writeFileSync(join(staging, 'template.tar'), Buffer.from(await dump.arrayBuffer()));
  } finally {
    await database.close();
  }
  writeFileSync(join(staging, 'complete'), '');
  // Templates built for other migrations are of no further use (runs still building one are left be).
  for (const name of readdirSync(CACHE)) {
    if (!name.includes('.')) rmSync(join(CACHE, name), { recursive: true, force: true });
  }
  try {
    renameSync(staging, target);
  } catch (error) {
    // Another run built the same template at the same moment: use theirs.
    if (!existsSync(join(target, 'complete'))) throw error;
    rmSync(staging, { recursive: true, force: true });
  }
}
