import type { Metric, Registry } from 'prom-client';

/**
 * An unlabelled histogram for a hot path, exported through a prom-client registry in the same text
 * as prom-client's own Histogram (cumulative `_bucket` lines with `le`, `+Inf`, `_sum`, `_count`).
 *
 * Why not prom-client's Histogram: its observe() builds and validates a label object, hashes it, and
 * finds the bucket by the bound's string form — about a microsecond on the development VM, which was
 * 3 % of a whole cached verification. Here observe() is a bucket search and three additions.
 */
export class CountingHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** Per-bucket (not cumulative) counts; the last slot is for values above every bound (+Inf). */
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    this.counts = new Float64Array(buckets.length + 1);
    // The registry only asks a metric for name, type and get(); prom-client's types list its own classes.
    registry.registerMetric(this as unknown as Metric);
  }

  observe(value: number): void {
    const { buckets } = this;
    let i = 0;
    while (i < buckets.length && value > buckets[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  /** The values in prom-client's export shape, read by the registry when /metrics is scraped. */
  get() {
    const bucket = `${this.name}_bucket`;
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    let cumulative = 0;
    this.buckets.forEach((le, i) => {
      cumulative += this.counts[i]!;
      values.push({ labels: { le }, value: cumulative, metricName: bucket });
    });
    values.push(
      { labels: { le: '+Inf' }, value: this.count, metricName: bucket },
      { labels: {}, value: this.sum, metricName: `${this.name}_sum` },
      { labels: {}, value: this.count, metricName: `${this.name}_count` },
    );
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}
