/**
 * The hub's own counters and latency histograms, fed by the ingest path, the group commit and
 * job claims (gauges such as SSE clients are read from their services at scrape time).
 *
 * @module
 */

/** Upper bounds (seconds) of the latency buckets: 0.5 ms to 2.5 s. */
export const LATENCY_BUCKETS_S: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
];

/** A cumulative histogram with fixed buckets. */
export class Histogram {
  readonly bounds: readonly number[];
  /** Per bucket (not cumulative), plus +Inf last. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[] = LATENCY_BUCKETS_S) {
    this.bounds = bounds;
    this.counts = new Array(bounds.length + 1).fill(0);
  }

  /** Records one observation (seconds). */
  observe(v: number): void {
    let i = 0;
    while (i < this.bounds.length && v > this.bounds[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }
}

/** What the hub counts about itself. */
export class HubMetrics {
  samplesIngested = 0;
  batchesIngested = 0;
  readonly commitSeconds: Histogram = new Histogram();
  readonly claimSeconds: Histogram = new Histogram();
  /** Writes committed per group transaction. */
  commitWrites = 0;
}
