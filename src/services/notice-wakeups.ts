import type { Database } from '../store/database.ts';
import { listenForNoticeWakeups, type NoticeWakeups } from '../store/notice-wakeups.ts';

export { announceNoticeDue } from '../store/notice-wakeups.ts';

/**
 * Calls `onWake(source)` whenever a notice of `source` is announced as due (`announceNoticeDue`) or a
 * claim of it is given back, by any process on the database (docs/architecture.md#notices-exactly-once).
 */
export function listenForDueNotices(
  database: Database,
  onWake: (source: string) => void,
): Promise<NoticeWakeups> {
  return listenForNoticeWakeups(database, onWake);
}
