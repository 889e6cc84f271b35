import { AppError } from '../errors.ts';

/** What cannot be done to a canary, for the sentence that refuses it. */
export type CanaryRefusedAction = 'rotate' | 'end-grace' | 'policy' | 'on-leak';

const WHY: Record<CanaryRefusedAction, string> = {
  rotate: 'is never rotated: its one key string stays planted where intruders may find it',
  'end-grace': 'has no old key and no grace period to end',
  policy: 'is never rotated, so it takes no rotation policy',
  'on-leak': 'is never rotated or ended when reported leaked: a report of it raises its alarm instead',
};

/**
 * The one refusal of a change a canary never gets (rotation, end of grace, a rotation policy), from
 * every surface. The database refuses the same changes (migration `canary_keys`); this says why first.
 */
export function canaryRefusal(name: string, action: CanaryRefusedAction): AppError {
  const text = `"${name}" is a canary (a decoy key) and ${WHY[action]}. Nothing was changed.`;
  return new AppError(
    'CANARY_KEY',
    `${text} To stop its alarms, delete it; to catch intruders somewhere else, create another canary.`,
    {
      fields: action === 'policy' ? { rotateEveryDays: text } : action === 'on-leak' ? { onLeak: text } : {},
    },
  );
}
