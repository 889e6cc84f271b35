import type { Clock } from '../clock.ts';
import { LookupBudget } from './lookup-budget.ts';
import { MembershipFilter } from './membership-filter.ts';

export interface LiveSecretFilterOptions {
  /**
   * The 8-byte hash prefixes of every secret of a live key not expired at `since`, packed
   * (live-secret-prefixes.ts).
   */
  readLivePrefixes: (since: Date) => Promise<Uint8Array>;
  clock: Clock;
  /** How often the filter is rebuilt, so secrets that expired or whose key was deleted leave it. */
  rebuildEveryMs?: number;
  /** After a failed build, while the channel is up: when to try again. */
  retryMs?: number;
  /** Keys ruled out that are still looked up, per second (and at once): see `FilterAnswer`. */
  confirmPerSecond?: number;
  onRebuilt?: (built: { secrets: number; bytes: number; ms: number }) => void;
  onRebuildFailed?: (error: unknown) => void;
  onTrustChange?: (trusted: boolean) => void;
}

/**
 * What the filter says of a well-formed key that is not cached:
 * - `untrusted`: nothing (no complete filter, or the channel may have missed an announcement): look
 *   it up;
 * - `maybe`: a secret the database may know: look it up;
 * - `confirm`: no secret the filter has heard of, but such keys are rare right now, so it is looked up
 *   all the same: a secret committed an instant ago may have been revealed by its creator before its
 *   announcement reached this replica (delivery takes from microseconds to milliseconds on a busy
 *   host, a reveal as little as a return from a function), and only the database is certain;
 * - `absent`: no secret the filter has heard of, and such keys arrive faster than `confirmPerSecond`
 *   (a flood of made-up keys): NOT_FOUND, with no lookup.
 */
export type FilterAnswer = 'untrusted' | 'maybe' | 'confirm' | 'absent';

/**
 * Every replica's set of the secrets the database could answer anything but NOT_FOUND for — each live
 * key's current secret, its old ones in grace, and those expired less than EXPIRED_KEPT_MS ago — as a
 * MembershipFilter, so that a flood of made-up keys is answered with no database statement. Never "no"
 * wrongly, so it is trusted only while it provably holds every such secret:
 *
 * - it is built from the database only once the invalidation channel LISTENs (`channelUp`), and every
 *   secret announced from then on (`add`: a database trigger announces each new secret at its commit,
 *   before its key string can be revealed) is added to it and to any filter being built;
 * - from the moment the channel may miss an announcement (`channelDown`: its connection closed, pings
 *   stopped coming back) until a filter built after it came back is complete, it rules out nothing:
 *   every miss is looked up, as without a filter;
 * - it is rebuilt every `rebuildEveryMs`, so secrets past EXPIRED_KEPT_MS and deleted keys' leave it
 *   (until then they are only a lookup), and when more secrets were added than it was sized for.
 *
 * docs/architecture.md, "The verify cache across replicas", says why each rule is there.
 */
export interface LiveSecretFilter {
  /** What the filter says of the key with this digest (a latin1 SHA-256). */
  check(digest: string): FilterAnswer;
  /**
   * What the filter says of a key known by other means to have no live secret (a canary): exactly
   * what it says of a key it rules out, from the same budget, so both are answered alike and as fast.
   */
  checkKnownAbsent(): Exclude<FilterAnswer, 'maybe'>;
  /** The filter is complete: its "no" can be believed. */
  readonly trusted: boolean;
  /** Secrets created since (hex hashes, as announced): in the filter from now on. */
  add(hashes: readonly string[]): void;
  /** The channel LISTENs (again): build a filter, trusted once complete if it stays up meanwhile. */
  channelUp(): void;
  /** The channel may be missing announcements: rule out nothing until rebuilt after it is back. */
  channelDown(): void;
  /** Resolves when the build in progress (if any) has finished. */
  settled(): Promise<void>;
  readonly secrets: number;
  readonly bytes: number;
  stop(): void;
}

const DEFAULT_REBUILD_EVERY_MS = 10 * 60_000;
/**
 * How long an expired secret stays in the filter. Within it the secret is always looked up, so it is
 * answered EXPIRED and its use is counted, flood or not (the `used_after_expiry` notice watches the
 * first 24 hours; `keys usage` keeps 30 days of hours). After it, it is a key the filter rules out:
 * still looked up (EXPIRED) while such keys are rare, answered NOT_FOUND in a flood.
 */
export const EXPIRED_KEPT_MS = 30 * 24 * 60 * 60_000;
const DEFAULT_RETRY_MS = 5_000;
/**
 * Ruled-out keys still looked up per second: enough for every unknown key a healthy installation
 * sees, few enough that a flood costs the database at most this many lookups a second (batched).
 */
const DEFAULT_CONFIRM_PER_SECOND = 10;

export function createLiveSecretFilter(options: LiveSecretFilterOptions): LiveSecretFilter {
  const rebuildEveryMs = options.rebuildEveryMs ?? DEFAULT_REBUILD_EVERY_MS;
  const retryMs = options.retryMs ?? DEFAULT_RETRY_MS;
  const confirmations = new LookupBudget(options.confirmPerSecond ?? DEFAULT_CONFIRM_PER_SECOND);
  let filter: MembershipFilter | undefined;
  let trusted = false;
  let listening = false;
  /** Bumped whenever announcements may have been missed: a build that started before cannot be trusted. */
  let generation = 0;
  let building: Promise<void> | undefined;
  /** Announcements heard while a build runs: added to the new filter before it replaces the old. */
  let heardDuringBuild: string[] | undefined;
  let buildAgain = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const setTrusted = (next: boolean) => {
    if (next === trusted) return;
    trusted = next;
    options.onTrustChange?.(next);
  };

  const schedule = (ms: number) => {
    clearTimeout(timer);
    if (stopped) return;
    // Spread out, so replicas started together do not all scan the secrets at the same moment.
    timer = setTimeout(
      () => {
        if (listening) requestBuild();
      },
      ms * (0.9 + Math.random() * 0.2),
    );
    timer.unref();
  };

  const build = async (): Promise<void> => {
    const startedGeneration = generation;
    const started = performance.now();
    heardDuringBuild = [];
    try {
      const since = new Date(options.clock.now().getTime() - EXPIRED_KEPT_MS);
      const prefixes = await options.readLivePrefixes(since);
      const next = new MembershipFilter(prefixes.length / 8 + heardDuringBuild.length);
      next.addPrefixes(prefixes);
      for (const hash of heardDuringBuild) next.addHex(hash);
      if (stopped) return;
      filter = next;
      options.onRebuilt?.({ secrets: next.size, bytes: next.bytes, ms: performance.now() - started });
      setTrusted(listening && startedGeneration === generation);
      schedule(rebuildEveryMs);
    } catch (error) {
      options.onRebuildFailed?.(error);
      if (listening) schedule(retryMs);
    } finally {
      heardDuringBuild = undefined;
    }
  };

  function requestBuild(): void {
    if (stopped) return;
    if (building) {
      buildAgain = true;
      return;
    }
    buildAgain = false;
    building = build().finally(() => {
      building = undefined;
      // The channel came back during that build, which may have missed what it announced before it
      // was back: one more build, started after.
      if (buildAgain) requestBuild();
    });
  }

  return {
    check(digest) {
      if (!trusted) return 'untrusted';
      if (filter!.mayContainDigest(digest)) return 'maybe';
      return confirmations.take() ? 'confirm' : 'absent';
    },
    checkKnownAbsent() {
      if (!trusted) return 'untrusted';
      return confirmations.take() ? 'confirm' : 'absent';
    },
    get trusted() {
      return trusted;
    },
    add(hashes) {
      for (const hash of hashes) {
        filter?.addHex(hash);
        heardDuringBuild?.push(hash);
      }
      if (filter && filter.size > filter.capacity) requestBuild();
    },
    channelUp() {
      listening = true;
      generation++;
      requestBuild();
    },
    channelDown() {
      listening = false;
      generation++;
      setTrusted(false);
    },
    async settled() {
      while (building) await building;
    },
    get secrets() {
      return filter?.size ?? 0;
    },
    get bytes() {
      return filter?.bytes ?? 0;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
