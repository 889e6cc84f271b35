import { expect, it } from 'vitest';
import {
  callBudgetMs,
  checkNoticeTiming,
  NOTICE_TIMING,
  postBudgetMs,
} from '../../src/scheduler/notice-timing.ts';

it('bounds one message by two calls (timeouts, retries, backoffs) around one rate-limit wait: 110 s by default', () => {
  expect(callBudgetMs(NOTICE_TIMING)).toBe(3 * 10_000 + 2 * 5_000);
  expect(postBudgetMs(NOTICE_TIMING)).toBe(40_000 + 30_000 + 40_000);
});

it('frees a dead instance’s claims well within 30 s: found dead 8 s after its last heartbeat, looked for every 2 s', () => {
  const timing = checkNoticeTiming();
  expect(timing.deadAfterMs + timing.beatEveryMs).toBe(10_000);
  expect(timing.deadAfterMs + timing.beatEveryMs).toBeLessThan(30_000);
});

it('stops an instance posting before anyone can find it dead, with a heartbeat to spare', () => {
  const timing = checkNoticeTiming();
  expect(timing.postGuardMs).toBeLessThan(timing.deadAfterMs);
  expect(timing.postGuardMs).toBeGreaterThanOrEqual(2 * timing.beatEveryMs);
});

it('refuses liveness bounds that could let two instances send one notice, saying why', () => {
  expect(() => checkNoticeTiming({ postGuardMs: 8_000 })).toThrow(
    /post guard of 8000 ms must be shorter than the 8000 ms after which an instance is found dead/,
  );
  expect(() => checkNoticeTiming({ beatEveryMs: 3_000 })).toThrow(
    /heartbeat every 3000 ms leaves no room in the 5000 ms post guard/,
  );
  expect(checkNoticeTiming({ beatEveryMs: 100, postGuardMs: 300, deadAfterMs: 500 })).toMatchObject({
    deadAfterMs: 500,
  });
});
