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

it('keeps the default lease longer than a renewal interval plus the longest post', () => {
  const timing = checkNoticeTiming();
  expect(timing.leaseMs).toBe(10 * 60_000);
  expect(timing.renewEveryMs).toBe(150_000);
  expect(timing.leaseMs).toBeGreaterThan(timing.renewEveryMs + timing.postBudgetMs);
});

it('renews at a quarter of a shorter lease unless told otherwise', () => {
  expect(checkNoticeTiming({ leaseMs: 5 * 60_000 }).renewEveryMs).toBe(75_000);
});

it('refuses a lease a post could outlive, saying why', () => {
  expect(() => checkNoticeTiming({ leaseMs: 60_000 })).toThrow(
    /lease of 60000 ms is too short: it must exceed the renewal interval \(15000 ms\) plus the longest a post can take \(110000 ms\)/,
  );
  expect(() =>
    checkNoticeTiming({
      callTimeoutMs: 1000,
      retries: 0,
      rateLimitWaitMs: 0,
      leaseMs: 1200,
      renewEveryMs: 300,
    }),
  ).toThrow(/too short/);
});
