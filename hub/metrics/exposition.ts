/**
 * A writer of the Prometheus text format (0.0.4) and OpenMetrics 1.0 text: metric families
 * with HELP/TYPE (and UNIT), label escaping, histograms, and the OpenMetrics `# EOF`. Written
 * here instead of taking `prom-client`: at 1,000 nodes the scrape is rebuilt from the fleet's
 * latest samples each time, and a registry of label-keyed gauges that must be reset and set per
 * scrape costs several times more (docs/alerts.md has the measurement).
 *
 * @module
 */

/** The two text formats. */
export type ExpositionFormat = "prometheus" | "openmetrics";

/** Content types of the formats. */
export const CONTENT_TYPES: Record<ExpositionFormat, string> = {
  prometheus: "text/plain; version=0.0.4; charset=utf-8",
  openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
};

/** A label value escaped for the text formats (backslash, double quote, newline). */
export function escapeLabel(v: string): string {
  return /[\\"\n]/.test(v)
    ? v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")
    : v;
}

/** `{a="x",b="y"}` from pairs; empty values are kept (they are legal and say "none"). */
export function labelSet(pairs: readonly (readonly [string, string])[]): string {
  if (pairs.length === 0) return "";
  let s = "{";
  for (let i = 0; i < pairs.length; i++) {
    if (i) s += ",";
    s += `${pairs[i][0]}="${escapeLabel(pairs[i][1])}"`;
  }
  return s + "}";
}

function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** Builds one exposition. */
export class ExpositionWriter {
  readonly format: ExpositionFormat;
  #out: string[] = [];

  constructor(format: ExpositionFormat) {
    this.format = format;
  }

  /**
   * Starts a family. `name` is the family name; for counters the samples are `name_total`
   * (OpenMetrics names the family without `_total`, the Prometheus format with it).
   */
  family(name: string, type: "gauge" | "counter" | "histogram", help: string, unit?: string): void {
    const om = this.format === "openmetrics";
    const fam = type === "counter" && !om ? `${name}_total` : name;
    this.#out.push(`# HELP ${fam} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
    this.#out.push(`# TYPE ${fam} ${type}`);
    if (om && unit) this.#out.push(`# UNIT ${fam} ${unit}`);
  }

  /** One sample line; `labels` from {@link labelSet}. */
  sample(name: string, labels: string, value: number): void {
    this.#out.push(`${name}${labels} ${num(value)}`);
  }

  /** A sample line already formatted (`name{labels} value`). */
  raw(line: string): void {
    this.#out.push(line);
  }

  /** The samples of a histogram (cumulative buckets, sum, count). */
  histogram(
    name: string,
    labels: readonly (readonly [string, string])[],
    h: { bounds: readonly number[]; counts: readonly number[]; sum: number; count: number },
  ): void {
    let cum = 0;
    for (let i = 0; i <= h.bounds.length; i++) {
      cum += h.counts[i];
      const b = h.bounds[i];
      // OpenMetrics writes bucket bounds as floats (1.0, not 1).
      const le = i === h.bounds.length
        ? "+Inf"
        : this.format === "openmetrics" && Number.isInteger(b)
        ? `${b}.0`
        : num(b);
      this.sample(`${name}_bucket`, labelSet([...labels, ["le", le]]), cum);
    }
    this.sample(`${name}_sum`, labelSet(labels), h.sum);
    this.sample(`${name}_count`, labelSet(labels), h.count);
  }

  /** The text, ending with a newline (and `# EOF` for OpenMetrics). */
  text(): string {
    if (this.format === "openmetrics") this.#out.push("# EOF");
    return this.#out.join("\n") + "\n";
  }
}
