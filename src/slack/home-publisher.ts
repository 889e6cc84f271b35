import type { KeyChange } from '../services/key-changes.ts';
import { buildHomeView, clampPage } from './blocks/home-view.ts';
import type { SlackDeps } from './deps.ts';
import { isSlackApiError, recordSlackError } from './slack-errors.ts';

/** setTimeout's ceiling (about 24.8 days); a later expiry re-arms when the Home is next published. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Publish a moment after an old key expires, so the clock has certainly passed it. */
const EXPIRY_MARGIN_MS = 1_000;

/**
 * Keeps each user's App Home current. Local mode and other surfaces call `publish` (a user opened the
 * tab) and `refreshKey` (something about a key changed, e.g. the scheduler saw an old key expire).
 */
export interface HomePublisher {
  /** Publishes `userId`'s Home at `page` (zero-based), or at the page they last saw. */
  publish(userId: string, page?: number): Promise<void>;
  /** Republishes the Home of everyone who sees this key: its maintainers, the admins, recent viewers. */
  refreshKey(keyId: string): Promise<void>;
  /** Resolves when every publish already asked for has been sent (tests, shutdown). */
  settled(): Promise<void>;
  stop(): void;
}

type PublisherDeps = Omit<SlackDeps, 'home'>;

interface Pending {
  again: boolean;
  done: Promise<void>;
}

/**
 * Builds the publisher and subscribes it to key changes (rotations, ended grace periods, new and
 * deleted keys). Refreshes never hold up the change that caused them: the listener starts them and
 * returns, so a rotation's answer to Slack does not wait for other people's Homes.
 */
export function createHomePublisher(deps: PublisherDeps): HomePublisher {
  /** The page each user last asked for; a refresh keeps them where they were (per process). */
  const pages = new Map<string, number>();
  /** Keys on each user's last published Home: who to refresh when a key is deleted. */
  const seen = new Map<string, Set<string>>();
  /** One publish at a time per user, and one more at most queued behind it: the latest state wins. */
  const pending = new Map<string, Pending>();
  /** Per user, a timer for when the soonest old key on their Home stops working. */
  const expiryTimers = new Map<string, NodeJS.Timeout>();
  let stopped = false;

  async function publishNow(userId: string): Promise<void> {
    const { keys, uses, leaks, canaryTries, clients, cutovers, isAdmin, now } =
      await deps.services.homeOf(userId);
    const page = clampPage(pages.get(userId) ?? 0, keys.length);
    const view = buildHomeView({ keys, page, now, isAdmin, uses, leaks, canaryTries, clients, cutovers });
    seen.set(userId, new Set(keys.map((k) => k.id)));
    armExpiryTimer(
      userId,
      keys.flatMap((k) => k.inGrace.map((s) => s.expiresAt?.getTime() ?? 0)),
      now,
    );
    await deps.client.views.publish({ user_id: userId, view });
  }

  function armExpiryTimer(userId: string, expiries: number[], now: Date): void {
    clearTimeout(expiryTimers.get(userId));
    expiryTimers.delete(userId);
    if (stopped || expiries.length === 0) return;
    const wait = Math.min(
      Math.max(0, Math.min(...expiries) - now.getTime()) + EXPIRY_MARGIN_MS,
      MAX_TIMER_MS,
    );
    const timer = setTimeout(() => {
      expiryTimers.delete(userId);
      void publish(userId);
    }, wait);
    timer.unref();
    expiryTimers.set(userId, timer);
  }

  function publish(userId: string, page?: number): Promise<void> {
    if (page !== undefined) pages.set(userId, page);
    if (stopped) return Promise.resolve();
    const queued = pending.get(userId);
    if (queued) {
      queued.again = true;
      return queued.done;
    }
    const entry: Pending = { again: false, done: Promise.resolve() };
    entry.done = (async () => {
      try {
        do {
          entry.again = false;
          try {
            await publishNow(userId);
          } catch (error) {
            const context = isSlackApiError(error)
              ? recordSlackError(deps, 'views.publish', error)
              : { err: error };
            deps.logger.warn(
              { ...context, userId },
              'could not publish the App Home; it is published again when the user next opens it',
            );
          }
        } while (entry.again && !stopped);
      } finally {
        pending.delete(userId);
      }
    })();
    pending.set(userId, entry);
    return entry.done;
  }

  async function audienceOf(keyId: string): Promise<Set<string>> {
    const audience = new Set<string>(await deps.services.audienceOf(keyId));
    for (const [userId, keyIds] of seen) if (keyIds.has(keyId)) audience.add(userId);
    return audience;
  }

  async function refreshKey(keyId: string): Promise<void> {
    const audience = await audienceOf(keyId);
    await Promise.all([...audience].map((userId) => publish(userId)));
  }

  /** Refreshes started by key changes and not finished yet. */
  const refreshing = new Set<Promise<void>>();
  const unsubscribe = deps.services.changes.subscribe((change: KeyChange) => {
    const refresh = refreshKey(change.keyId)
      .catch((error: unknown) =>
        deps.logger.warn(
          { err: error, keyId: change.keyId },
          'could not refresh App Homes after a key change',
        ),
      )
      .finally(() => refreshing.delete(refresh));
    refreshing.add(refresh);
  });

  return {
    publish,
    refreshKey,
    settled: async () => {
      while (refreshing.size > 0 || pending.size > 0) {
        await Promise.all([...refreshing, ...[...pending.values()].map((p) => p.done)]);
      }
    },
    stop: () => {
      stopped = true;
      unsubscribe();
      for (const timer of expiryTimers.values()) clearTimeout(timer);
      expiryTimers.clear();
    },
  };
}
