/**
 * The `alerts:` section of fleet.yml: rules (one zod schema per kind, so an error names the
 * field and its line) and webhooks. Durations are written as `30s`, `10m`; percentages 0–100.
 *
 * @module
 */
import { z } from "zod";
import { DurationSchema } from "../../shared/duration.ts";
import { ALERT_SEVERITIES, ROAMER_STATES } from "../../shared/protocol/enums.ts";
import { NodeId } from "../../shared/protocol/common.ts";

const RuleName = z.string().regex(
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
  "rule name: 1-64 letters, digits, '.', '_', '-'",
);
const pct = z.number().min(0).max(100);
/** At most a day: a rule that waits longer is not an alert any more. */
const forDuration = DurationSchema.refine((ms) => ms <= 86_400_000, "at most 24h");

/** What every rule has: its name, severity and which nodes it covers (default: all). */
const common = {
  name: RuleName,
  severity: z.enum(ALERT_SEVERITIES).default("warning"),
  /** Only these nodes (ids). */
  nodes: z.array(NodeId).max(10_000).optional(),
  /** Only the members (and lent roamers) of these clusters. */
  clusters: z.array(NodeId).max(1000).optional(),
};

/** A node whose status is offline this long. */
const OfflineRule = z.strictObject({
  ...common,
  kind: z.literal("offline"),
  for: forDuration.default(0),
});

/**
 * A named sensor above `above` °C for `for`; resolved below `above − margin`. Placeholder readings
 * (Xavier's PMIC reads a constant 100 °C; powered-off zones −256 °C) never count.
 */
const TemperatureRule = z.strictObject({
  ...common,
  kind: z.literal("temperature"),
  /** Sensor names as samples carry them (tegrastats / thermal zone names: CPU, GPU, tj …). */
  sensors: z.array(z.string().min(1).max(64)).min(1).max(64),
  above: z.number().min(-40).max(200),
  for: forDuration.default(0),
  margin: z.number().min(0).max(50).default(3),
});

/** A filesystem fuller than `above` % (for `for`); resolved below `above − margin`. */
const DiskRule = z.strictObject({
  ...common,
  kind: z.literal("disk"),
  above: pct,
  /** Only these mount points (default: every mounted filesystem the agent reports). */
  mounts: z.array(z.string().min(1).max(256)).max(64).optional(),
  for: forDuration.default(0),
  margin: z.number().min(0).max(50).default(2),
});

/** A GPU at or above `at` % utilisation for `for` (a stuck kernel, a runaway job). */
const GpuPinnedRule = z.strictObject({
  ...common,
  kind: z.literal("gpu_pinned"),
  // 99: tegrastats shows a saturated GPU at 99 % as often as at 100 %.
  at: pct.default(99),
  for: forDuration,
  margin: z.number().min(0).max(100).default(10),
});

/** An agent's spool dropping samples (hub unreachable too long, disk bound hit). */
const SpoolDroppingRule = z.strictObject({
  ...common,
  kind: z.literal("spool_dropping"),
  /** Resolved when the node's drop count stops growing for this long. */
  quiet: forDuration.default(600_000),
});

/**
 * More than `above` % of the last `window` finished jobs failed (per cluster when `clusters` is
 * set, else fleet-wide); resolved below `above − margin`.
 */
const JobFailureRateRule = z.strictObject({
  ...common,
  kind: z.literal("job_failure_rate"),
  above: pct,
  window: z.number().int().min(1).max(10_000).default(20),
  /** Fewer finished jobs than this never fire. */
  min_jobs: z.number().int().min(1).max(10_000).default(5),
  margin: z.number().min(0).max(100).default(10),
});

/** A roamer in one of `states` for longer than `for`. */
const RoamerStuckRule = z.strictObject({
  ...common,
  kind: z.literal("roamer_stuck"),
  states: z.array(z.enum(ROAMER_STATES)).min(1).max(6).default([
    "ASSIGNED",
    "PROVISIONING",
    "CLEANUP",
    "FAILED",
  ]),
  for: forDuration,
});

/** One rule of fleet.yml. */
export const AlertRule = z.discriminatedUnion("kind", [
  OfflineRule,
  TemperatureRule,
  DiskRule,
  GpuPinnedRule,
  SpoolDroppingRule,
  JobFailureRateRule,
  RoamerStuckRule,
]);
export type AlertRule = z.infer<typeof AlertRule>;
export type RuleOf<K extends AlertRule["kind"]> = Extract<AlertRule, { kind: K }>;

/** Where alerts are POSTed. */
export const Webhook = z.strictObject({
  name: RuleName,
  url: z.string().url().max(2048).refine((u) => /^https?:\/\//i.test(u), "http(s) URLs only"),
  /** `json` (the alert as JSON), `slack` (`text` + blocks) or `discord` (`content` + embeds). */
  format: z.enum(["json", "slack", "discord"]).default("json"),
  /** HMAC-SHA256 key of the `X-Fleet-Signature` header (or `secret_env`: a variable holding it). */
  secret: z.string().min(16).max(512).optional(),
  secret_env: z.string().regex(/^[A-Z_][A-Z0-9_]{0,127}$/).optional(),
  /** Only these rules (default: all). */
  rules: z.array(RuleName).max(256).optional(),
  /** Only alerts at least this loud. */
  min_severity: z.enum(ALERT_SEVERITIES).default("info"),
  /** Send `resolved` too (default yes). */
  resolved: z.boolean().default(true),
  /** Attempts before a delivery is failed (1 = no retry). */
  attempts: z.number().int().min(1).max(20).default(6),
  /** First retry delay; doubles per attempt, jittered, capped at 10 min. */
  backoff: DurationSchema.refine((ms) => ms >= 10 && ms <= 600_000, "10ms to 10m").default(2000),
  timeout: DurationSchema.refine((ms) => ms >= 100 && ms <= 60_000, "100ms to 60s").default(
    10_000,
  ),
  /**
   * At most `max` notifications per `window`; the rest of the window is held and sent as one
   * digest when it ends (`max: 0`: no bound).
   */
  flood: z.strictObject({
    max: z.number().int().min(0).max(10_000).default(20),
    window: DurationSchema.refine((ms) => ms >= 1000 && ms <= 3_600_000, "1s to 1h").default(
      60_000,
    ),
  }).default({ max: 20, window: 60_000 }),
}).refine((w) => !(w.secret && w.secret_env), {
  message: "give secret or secret_env, not both",
  path: ["secret_env"],
});
export type Webhook = z.infer<typeof Webhook>;

function repeated(names: string[], what: string, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (seen.has(n)) {
      ctx.addIssue({ code: "custom", path: [i, "name"], message: `${what} ${n} is listed twice` });
    }
    seen.add(n);
  });
}

/** The `alerts:` section. */
export const AlertsSection = z.strictObject({
  rules: z.array(AlertRule).max(256).superRefine((r, ctx) =>
    repeated(r.map((x) => x.name), "rule", ctx)
  )
    .default([]),
  webhooks: z.array(Webhook).max(32).superRefine((w, ctx) =>
    repeated(w.map((x) => x.name), "webhook", ctx)
  ).default([]),
  /** Alert history (resolved alerts, finished deliveries) older than this is pruned. */
  history: DurationSchema.default(90 * 86_400_000),
}).superRefine((a, ctx) => {
  const names = new Set(a.rules.map((r) => r.name));
  a.webhooks.forEach((w, i) =>
    w.rules?.forEach((r, j) => {
      if (!names.has(r)) {
        ctx.addIssue({
          code: "custom",
          path: ["webhooks", i, "rules", j],
          message: `no rule named ${r} under alerts.rules`,
        });
      }
    })
  );
});
export type AlertsSection = z.infer<typeof AlertsSection>;

/** The section with nothing set. */
export const NO_ALERTS: AlertsSection = { rules: [], webhooks: [], history: 90 * 86_400_000 };

/** A one-line description of a rule for the UI and MCP. */
export function describeRule(r: AlertRule): string {
  const forText = (ms: number) => (ms > 0 ? ` for ${ms / 1000} s` : "");
  switch (r.kind) {
    case "offline":
      return `node offline${forText(r.for)}`;
    case "temperature":
      return `${r.sensors.join(", ")} above ${r.above} °C${forText(r.for)} (clears below ${
        r.above - r.margin
      } °C)`;
    case "disk":
      return `${r.mounts?.join(", ") ?? "any filesystem"} above ${r.above} %${forText(r.for)}`;
    case "gpu_pinned":
      return `GPU at ≥ ${r.at} %${forText(r.for)}`;
    case "spool_dropping":
      return `agent spool dropping samples (clears after ${r.quiet / 1000} s without drops)`;
    case "job_failure_rate":
      return `over ${r.above} % of the last ${r.window} jobs failed`;
    case "roamer_stuck":
      return `roamer in ${r.states.join("/")}${forText(r.for)}`;
  }
}
