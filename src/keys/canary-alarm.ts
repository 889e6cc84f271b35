/** The notice kind of a canary's alarm (one `notifications` row per alarm). */
export const CANARY_ALARM_KIND = 'canary_tried';

/**
 * At most one alarm per canary in this long: a scripted intruder trying the key a thousand times
 * makes one alarm now and, ten minutes later, one that says how many more tries came meanwhile.
 */
export const CANARY_QUIET_MS = 10 * 60_000;

/**
 * When the next alarm about a canary is due: at its first try not told yet, but never within
 * CANARY_QUIET_MS of the previous alarm's due time. Pure; the claim decides with the clock read once.
 */
export function nextCanaryAlarmAt(firstUntoldAt: Date, previousAlarmAt: Date | null): Date {
  if (previousAlarmAt === null) return firstUntoldAt;
  return new Date(Math.max(firstUntoldAt.getTime(), previousAlarmAt.getTime() + CANARY_QUIET_MS));
}
