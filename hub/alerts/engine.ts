/**
 * The rule engine: turns fleet events into firing and resolved alerts, in memory and without
 * I/O (the service persists, announces and notifies). Threshold rules fire after their reading
 * stayed above the threshold for `for` (measured on the hub's clock as events arrive) and resolve
 * once it falls below the threshold minus `margin`; absence rules (offline, a stuck roamer, a
 * spool that stopped dropping) keep one timer per subject, set and cleared by the status change
 * that starts or ends them. Nothing polls.
 *
 * A rule kind is one evaluator in {@link AlertEngine}; a backup-age rule plugs in the same way
 * once backups publish their runs on the bus (`backup.*` events): on each finished run, fire when
 * the newest good run of a target is older than its schedule allows, resolve on the next good run.
 *
 * @module
 */
import type { Sample } from "../../shared/protocol/mod.ts";
import type {
  AlertKind,
  AlertSeverity,
  NodeStatus,
  RoamerState,
} from "../../shared/protocol/mod.ts";
import type { AlertRule, RuleOf } from "./rules.ts";

/** What the engine asks the service to raise. */
export interface FireSpec {
  key: string;
  rule: string;
  kind: AlertKind;
  severity: AlertSeverity;
  node_id: string | null;
  subject: string | null;
  message: string;
  value: number | null;
  threshold: number | null;
}

/** Where the engine's decisions go. */
export interface AlertSink {
  fire(spec: FireSpec): void;
  resolve(key: string, value: number | null, message: string): void;
}

/** The alert key of a rule on a subject: one firing alert per key at most. */
export function alertKey(rule: string, node: string | null, subject: string | null): string {
  return `${rule}|${node ?? ""}|${subject ?? ""}`;
}

/**
 * Readings that are not temperatures: Xavier's PMIC sensor reads a constant 100 °C (tegrastats
 * `PMIC@100C`, thermal zone `PMIC-Die`), and Orin reports −256 °C for zones that are powered off.
 */
export function isPlaceholderTemp(name: string, c: number): boolean {
  if (c <= -255) return true;
  return /^pmic/i.test(name) && c === 100;
}

/**
 * Every temperature a sample carries: its sensors (thermal zones, tegrastats) and each GPU's own
 * reading (nvidia-smi) as `GPU<index>`.
 */
export function sensorReadings(s: Sample): { name: string; c: number }[] {
  const out: { name: string; c: number }[] = s.temps ? [...s.temps] : [];
  s.gpus?.forEach((g, i) => {
    if (g.temp_c !== undefined) out.push({ name: `GPU${g.index ?? i}`, c: g.temp_c });
  });
  return out;
}

const fmt = (n: number) => String(Math.round(n * 10) / 10);
const secs = (ms: number) => (ms >= 120_000 ? `${fmt(ms / 60_000)} min` : `${fmt(ms / 1000)} s`);

const NONE: readonly AlertRule[] = [];

/** A rule's scope: which nodes it covers. */
type Scope = (node: string | null) => boolean;

/** The evaluator of every rule kind over the current rule set. */
export class AlertEngine {
  #sink: AlertSink;
  #rules: AlertRule[] = [];
  #scopes = new Map<string, Scope>();
  #byKind = new Map<AlertRule["kind"], AlertRule[]>();
  /** Per temperature rule, its sensor names in lower case. */
  #sensors = new Map<string, ReadonlySet<string>>();
  /** Keys firing now (the service loads them at start so nothing fires twice). */
  #firing = new Map<string, number | null>();
  /** Threshold rules: since when a subject has been above (hub time). */
  #above = new Map<string, number>();
  /** Absence rules: one timer per key. */
  #timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Spool drop counters last seen per node. */
  #dropped = new Map<string, number>();
  /** Job outcomes per job_failure_rate rule (true = failed), newest last. */
  #outcomes = new Map<string, boolean[]>();
  #clusterOf: (node: string) => string | null = () => null;
  #isOffline: (node: string) => boolean = () => false;

  constructor(sink: AlertSink) {
    this.#sink = sink;
  }

  /** Applies a rule set (start and fleet.yml reload); state of rules that stay is kept. */
  setRules(
    rules: AlertRule[],
    clusterOf: (node: string) => string | null,
    isOffline: (node: string) => boolean,
  ): void {
    this.#rules = rules;
    this.#clusterOf = clusterOf;
    this.#isOffline = isOffline;
    this.#scopes = new Map(rules.map((r) => [r.name, this.#scope(r)]));
    this.#byKind = new Map();
    for (const r of rules) this.#byKind.set(r.kind, [...(this.#byKind.get(r.kind) ?? []), r]);
    this.#sensors = new Map(
      rules.flatMap((r) =>
        r.kind === "temperature" ? [[r.name, new Set(r.sensors.map((x) => x.toLowerCase()))]] : []
      ),
    );
    const names = new Set(rules.map((r) => r.name));
    for (const [key, timer] of this.#timers) {
      if (!names.has(key.slice(0, key.indexOf("|")))) {
        clearTimeout(timer);
        this.#timers.delete(key);
      }
    }
    for (const key of [...this.#above.keys()]) {
      if (!names.has(key.slice(0, key.indexOf("|")))) this.#above.delete(key);
    }
  }

  /** Keys firing whose rule is gone (the service resolves them). */
  orphans(): string[] {
    const names = new Set(this.#rules.map((r) => r.name));
    return [...this.#firing.keys()].filter((k) => !names.has(k.slice(0, k.indexOf("|"))));
  }

  #scope(r: AlertRule): Scope {
    const nodes = r.nodes ? new Set(r.nodes) : undefined;
    const clusters = r.clusters ? new Set(r.clusters) : undefined;
    if (!nodes && !clusters) return () => true;
    return (node) => {
      if (node === null) return false;
      if (nodes?.has(node)) return true;
      const c = clusters ? this.#clusterOf(node) : null;
      return c !== null && !!clusters?.has(c);
    };
  }

  /** The rules of a kind that cover `node` (every sample asks: no allocation when none do). */
  #rulesOf<K extends AlertRule["kind"]>(kind: K, node: string | null): readonly RuleOf<K>[] {
    const list = (this.#byKind.get(kind) ?? NONE) as readonly RuleOf<K>[];
    if (list.length === 0) return list;
    if (list.every((r) => !r.nodes && !r.clusters)) return list;
    return list.filter((r) =>
      node === null ? !r.nodes && !r.clusters : this.#scopes.get(r.name)!(node)
    );
  }

  /** Marks keys already firing (from the store) so they resolve, and never fire twice. */
  markFiring(key: string, value: number | null): void {
    this.#firing.set(key, value);
  }

  /** Whether `key` is firing. */
  firing(key: string): boolean {
    return this.#firing.has(key);
  }

  #fire(spec: Omit<FireSpec, "key">): void {
    const key = alertKey(spec.rule, spec.node_id, spec.subject);
    if (this.#firing.has(key)) return;
    this.#firing.set(key, spec.value);
    this.#sink.fire({ ...spec, key });
  }

  /** Resolves `key` if it fires (also used for removed rules and nodes). */
  resolve(key: string, value: number | null, message: string): void {
    if (!this.#firing.delete(key)) return;
    this.#above.delete(key);
    this.#sink.resolve(key, value, message);
  }

  /**
   * One threshold check with hysteresis: `over` while above the threshold, `clear` once below
   * the threshold minus the margin; fires after `forMs` continuously over.
   */
  #threshold(
    r: AlertRule & { for?: number },
    node: string,
    subject: string,
    value: number,
    over: boolean,
    clear: boolean,
    now: number,
    spec: () => Omit<FireSpec, "key">,
    resolvedText: () => string,
  ): void {
    const key = alertKey(r.name, node, subject);
    if (this.#firing.has(key)) {
      if (clear) this.resolve(key, value, resolvedText());
      return;
    }
    if (!over) {
      this.#above.delete(key);
      return;
    }
    const since = this.#above.get(key) ?? now;
    this.#above.set(key, since);
    if (now - since >= (r.for ?? 0)) {
      this.#above.delete(key);
      this.#fire(spec());
    }
  }

  /** A node's newest sample arrived (hub time `now`). */
  sample(node: string, s: Sample, now: number): void {
    const tempRules = this.#rulesOf("temperature", node);
    const readings = tempRules.length ? sensorReadings(s) : [];
    for (const r of tempRules) {
      const wanted = this.#sensors.get(r.name)!;
      for (const t of readings) {
        const name = t.name.toLowerCase();
        // `GPU` also names a dGPU's own sensor (GPU0, GPU1 … from nvidia-smi).
        const named = wanted.has(name) || (wanted.has("gpu") && /^gpu\d+$/.test(name));
        if (!named || isPlaceholderTemp(t.name, t.c)) continue;
        this.#threshold(r, node, t.name, t.c, t.c > r.above, t.c < r.above - r.margin, now, () => ({
          rule: r.name,
          kind: r.kind,
          severity: r.severity,
          node_id: node,
          subject: t.name,
          value: t.c,
          threshold: r.above,
          message: `${node} ${t.name} at ${fmt(t.c)} °C (above ${r.above} °C${
            r.for ? ` for ${secs(r.for)}` : ""
          })`,
        }), () => `${node} ${t.name} back to ${fmt(t.c)} °C`);
      }
    }
    for (const r of this.#rulesOf("disk", node)) {
      for (const d of s.disks ?? []) {
        if (r.mounts && !r.mounts.includes(d.mount)) continue;
        this.#threshold(
          r,
          node,
          d.mount,
          d.pct,
          d.pct > r.above,
          d.pct < r.above - r.margin,
          now,
          () => ({
            rule: r.name,
            kind: r.kind,
            severity: r.severity,
            node_id: node,
            subject: d.mount,
            value: d.pct,
            threshold: r.above,
            message: `${node} ${d.mount} ${fmt(d.pct)} % full (above ${r.above} %)`,
          }),
          () => `${node} ${d.mount} down to ${fmt(d.pct)} %`,
        );
      }
    }
    for (const r of this.#rulesOf("gpu_pinned", node)) {
      (s.gpus ?? []).forEach((g, i) => {
        if (g.util_pct === undefined) return;
        const subject = `GPU${g.index ?? i}`;
        const u = g.util_pct;
        this.#threshold(r, node, subject, u, u >= r.at, u < r.at - r.margin, now, () => ({
          rule: r.name,
          kind: r.kind,
          severity: r.severity,
          node_id: node,
          subject,
          value: u,
          threshold: r.at,
          message: `${node} ${subject} pinned at ${fmt(u)} % for ${secs(r.for)}`,
        }), () => `${node} ${subject} down to ${fmt(u)} %`);
      });
    }
  }

  #timer(key: string, ms: number, fn: () => void): void {
    clearTimeout(this.#timers.get(key));
    const t = setTimeout(() => {
      this.#timers.delete(key);
      fn();
    }, Math.max(0, ms));
    // An absence timer must not keep the process alive on its own.
    Deno.unrefTimer(t);
    this.#timers.set(key, t);
  }

  #clearTimer(key: string): void {
    clearTimeout(this.#timers.get(key));
    this.#timers.delete(key);
  }

  /** A node's status changed (or was found at start, `sinceMs` ago). */
  status(node: string, status: NodeStatus, sinceMs = 0): void {
    for (const r of this.#rulesOf("offline", node)) {
      const key = alertKey(r.name, node, null);
      if (status !== "offline") {
        this.#clearTimer(key);
        this.resolve(key, null, `${node} is ${status} again`);
        continue;
      }
      if (this.#firing.has(key) || this.#timers.has(key)) continue;
      const fire = () => {
        if (!this.#isOffline(node)) return;
        this.#fire({
          rule: r.name,
          kind: r.kind,
          severity: r.severity,
          node_id: node,
          subject: null,
          value: null,
          threshold: r.for / 1000,
          message: `${node} offline${r.for ? ` for ${secs(r.for)}` : ""}`,
        });
      };
      if (r.for - sinceMs <= 0) fire();
      else this.#timer(key, r.for - sinceMs, fire);
    }
  }

  /** A node's agent reported its spool-drop counter (with every batch). */
  spool(node: string, dropped: number): void {
    // A node unknown at start is new: its counter started at 0 on the hub.
    const last = this.#dropped.get(node) ?? 0;
    this.#dropped.set(node, dropped);
    if (dropped <= last) return;
    for (const r of this.#rulesOf("spool_dropping", node)) {
      const key = alertKey(r.name, node, null);
      this.#fire({
        rule: r.name,
        kind: r.kind,
        severity: r.severity,
        node_id: node,
        subject: null,
        value: dropped,
        threshold: null,
        message: `${node} agent spool dropped ${dropped - last} samples (${dropped} in all)`,
      });
      // Resolved when the counter stays put for `quiet`: every new drop restarts the wait.
      this.#timer(key, r.quiet, () => {
        this.resolve(key, this.#dropped.get(node) ?? null, `${node} spool stopped dropping`);
      });
    }
  }

  /** The baseline of a node's spool counter (from the store at start, before any batch). */
  spoolBaseline(node: string, dropped: number): void {
    if (!this.#dropped.has(node)) this.#dropped.set(node, dropped);
  }

  /** A job reached a final state on `node` (null: it never ran). */
  jobFinished(node: string | null, failed: boolean): void {
    const rules = this.#rules.filter((r): r is RuleOf<"job_failure_rate"> =>
      r.kind === "job_failure_rate" &&
      ((!r.nodes && !r.clusters) || (node !== null && this.#scopes.get(r.name)!(node)))
    );
    for (const r of rules) {
      const list = this.#outcomes.get(r.name) ?? [];
      list.push(failed);
      if (list.length > r.window) list.splice(0, list.length - r.window);
      this.#outcomes.set(r.name, list);
      const rate = (list.filter(Boolean).length / list.length) * 100;
      const key = alertKey(r.name, null, null);
      if (this.#firing.has(key)) {
        if (rate < r.above - r.margin) {
          this.resolve(key, rate, `job failure rate down to ${fmt(rate)} %`);
        }
      } else if (list.length >= r.min_jobs && rate > r.above) {
        this.#fire({
          rule: r.name,
          kind: r.kind,
          severity: r.severity,
          node_id: null,
          subject: null,
          value: rate,
          threshold: r.above,
          message: `${fmt(rate)} % of the last ${list.length} jobs failed (above ${r.above} %)`,
        });
      }
    }
  }

  /**
   * A roamer changed state; with `baseline`, it was found in `state` since `sinceMs` ago (start,
   * reload) and what already fires or waits is left alone.
   */
  roamer(node: string, state: RoamerState, sinceMs = 0, baseline = false): void {
    for (const r of this.#rulesOf("roamer_stuck", node)) {
      const key = alertKey(r.name, node, null);
      if (baseline && (this.#firing.has(key) || this.#timers.has(key))) continue;
      this.#clearTimer(key);
      this.resolve(key, null, `${node} moved on to ${state}`);
      if (!r.states.includes(state)) continue;
      const fire = () =>
        this.#fire({
          rule: r.name,
          kind: r.kind,
          severity: r.severity,
          node_id: node,
          subject: null,
          value: null,
          threshold: r.for / 1000,
          message: `roamer ${node} stuck in ${state} for ${secs(r.for)}`,
        });
      if (r.for - sinceMs <= 0) fire();
      else this.#timer(key, r.for - sinceMs, fire);
    }
  }

  /** A node was deleted: its alerts resolve, its state goes. */
  nodeRemoved(node: string): void {
    for (const key of [...this.#firing.keys()]) {
      if (key.split("|")[1] === node) this.resolve(key, null, `${node} was removed`);
    }
    for (const key of [...this.#timers.keys()]) {
      if (key.split("|")[1] === node) this.#clearTimer(key);
    }
    this.#dropped.delete(node);
  }

  /** Stops every timer. */
  stop(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }
}
