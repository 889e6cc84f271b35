import { PROJECT_ROOT, type RunningRekey, startRekeyProcess } from '../support/spawn-rekey.ts';

/** Kept for existing callers: the one way to spawn rekey is `startRekeyProcess` in test/support/spawn-rekey.ts. */
export type RekeyProcess = RunningRekey;

/** `src/main.ts` in its own Node process (signals reach it directly), on a free port. */
export function spawnRekey(env: Record<string, string>): Promise<RekeyProcess> {
  return startRekeyProcess({ cwd: PROJECT_ROOT, env });
}
