import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CountingHistogram } from '../src/counting-histogram.ts';

const buckets = [0.001, 0.01, 0.1];
const values = [0.0005, 0.001, 0.0011, 0.01, 0.05, 0.1, 0.2, 7, 0];

function pair() {
  const theirs = new Registry();
  const ours = new Registry();
  const reference = new Histogram({ name: 'h_seconds', help: 'h', buckets, registers: [theirs] });
  const counting = new CountingHistogram('h_seconds', 'h', buckets, ours);
  return { theirs, ours, reference, counting };
}

describe('CountingHistogram', () => {
  it("exports exactly what prom-client's Histogram exports for the same observations", async () => {
    const { theirs, ours, reference, counting } = pair();
    expect(await ours.metrics()).toBe(await theirs.metrics()); // empty
    for (const value of values) {
      reference.observe(value);
      counting.observe(value);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    // Bounds are inclusive (0.001 counts in le="0.001") and buckets cumulative.
    expect(text).toContain('h_seconds_bucket{le="0.001"} 3');
    expect(text).toContain('h_seconds_bucket{le="+Inf"} 9');
    expect(text).toContain('h_seconds_count 9');
  });

  it('starts again from zero on reset, like the registry expects', async () => {
    const { theirs, ours, reference, counting } = pair();
    counting.observe(1);
    ours.resetMetrics();
    reference.observe(0.05);
    counting.observe(0.05);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
