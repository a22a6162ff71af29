/**
 * The alert rule engine on its own (no hub, no I/O): each rule kind fires and resolves with its
 * hysteresis, placeholder temperatures never count, scopes select nodes and clusters, absence
 * timers (offline, roamer stuck, spool quiet) fire only when the state holds, and removed rules
 * leave their alerts to be resolved.
 */
import assert from "node:assert/strict";
import {
  AlertEngine,
  alertKey,
  type FireSpec,
  isPlaceholderTemp,
} from "../../hub/alerts/engine.ts";
import { AlertsSection } from "../../hub/alerts/rules.ts";
import { renderBody, scrubUrl } from "../../hub/alerts/webhooks.ts";
import type { Sample } from "../../shared/protocol/mod.ts";
import { waitFor } from "../helpers/process.ts";

function engine(yamlRules: unknown[], clusters: Record<string, string> = {}) {
  const fired: FireSpec[] = [];
  const resolved: { key: string; message: string }[] = [];
  const offline = new Set<string>();
  const e = new AlertEngine({
    fire: (s) => fired.push(s),
    resolve: (key, _v, message) => resolved.push({ key, message }),
  });
  const rules = AlertsSection.parse({ rules: yamlRules }).rules;
  e.setRules(rules, (n) => clusters[n] ?? null, (n) => offline.has(n));
  return { e, fired, resolved, offline };
}

const sample = (extra: Partial<Sample>): Sample => ({ seq: 1, ts: 1, ...extra });

Deno.test("alert engine: temperature with for, hysteresis and placeholders", () => {
  const { e, fired, resolved } = engine([
    { name: "hot", kind: "temperature", sensors: ["GPU", "PMIC", "tj"], above: 85, for: "10s" },
  ]);
  const t = (c: number, at: number, name = "GPU") =>
    e.sample("agx-01", sample({ temps: [{ name, c }] }), at);
  t(90, 0);
  t(90, 5_000);
  assert.equal(fired.length, 0, "not before its time");
  t(84, 6_000);
  t(90, 7_000);
  t(90, 16_000);
  assert.equal(fired.length, 0, "a dip below the threshold restarts the wait");
  t(91, 17_000);
  assert.equal(fired.length, 1);
  assert.equal(fired[0].key, alertKey("hot", "agx-01", "GPU"));
  assert.equal(fired[0].value, 91);
  t(83, 18_000);
  assert.equal(resolved.length, 0, "inside the band (85 − 3) it keeps firing");
  t(81.9, 19_000);
  assert.equal(resolved.length, 1);
  // Xavier's PMIC constant and a powered-off zone are no readings.
  for (let at = 20_000; at < 60_000; at += 5_000) {
    t(100, at, "PMIC");
    t(-256, at, "tj");
  }
  assert.equal(fired.length, 1);
  assert.ok(isPlaceholderTemp("PMIC", 100) && !isPlaceholderTemp("PMIC", 101));
  assert.ok(!isPlaceholderTemp("GPU", 100));
  // A dGPU's own reading (nvidia-smi) is sensor GPU<index>, and `GPU` names it too.
  e.sample("spark", sample({ gpus: [{ index: 1, temp_c: 99 }] }), 100_000);
  e.sample("spark", sample({ gpus: [{ index: 1, temp_c: 99 }] }), 110_000);
  assert.deepEqual(fired.slice(1).map((f) => `${f.node_id}:${f.subject}`), ["spark:GPU1"]);
});

Deno.test("alert engine: disk and GPU pinned per subject; scopes by node and cluster", () => {
  const { e, fired, resolved } = engine([
    { name: "disk", kind: "disk", above: 90, mounts: ["/"], clusters: ["vision"] },
    { name: "gpu", kind: "gpu_pinned", for: "1m", nodes: ["spark"] },
  ], { "agx-01": "vision" });
  const disks = (pct: number) => [
    { mount: "/", total_b: 100, used_b: pct, pct },
    { mount: "/data", total_b: 100, used_b: 99, pct: 99 },
  ];
  e.sample("agx-01", sample({ disks: disks(95) }), 0);
  e.sample("agx-02", sample({ disks: disks(95) }), 0);
  assert.deepEqual(fired.map((f) => `${f.node_id}:${f.subject}`), ["agx-01:/"]);
  e.sample("agx-01", sample({ disks: disks(89) }), 1);
  assert.equal(resolved.length, 0, "89 % is inside the band (90 − 2)");
  e.sample("agx-01", sample({ disks: disks(87) }), 2);
  assert.equal(resolved.length, 1);
  const gpu = (u: number, at: number, node = "spark") =>
    e.sample(node, sample({ gpus: [{ index: 0, util_pct: u }] }), at);
  gpu(100, 0);
  gpu(100, 0, "agx-01");
  gpu(100, 30_000);
  gpu(100, 60_000);
  gpu(100, 60_000, "agx-01");
  assert.deepEqual(fired.slice(1).map((f) => `${f.node_id}:${f.subject}`), ["spark:GPU0"]);
  gpu(95, 61_000);
  assert.equal(resolved.length, 1, "95 % is inside the band (100 − 10)");
  gpu(50, 62_000);
  assert.equal(resolved.length, 2);
});

Deno.test("alert engine: job failure rate over a window, with hysteresis", () => {
  const { e, fired, resolved } = engine([
    { name: "jobs", kind: "job_failure_rate", above: 50, window: 10, min_jobs: 4, margin: 20 },
  ]);
  const run = (failed: boolean[]) =>
    failed.forEach((f, i) => e.jobFinished(i % 2 ? "n1" : null, f));
  run([false, false, true]);
  assert.equal(fired.length, 0, "fewer than min_jobs");
  run([true]);
  assert.equal(fired.length, 0, "2 of 4 is not above 50 %");
  run([true]);
  assert.equal(fired.length, 1, "3 of 5 failed");
  run([false, false, false, false, false]);
  assert.equal(resolved.length, 0, "3 of 10 is inside the band (50 − 20)");
  run([false, false]);
  assert.equal(resolved.length, 0, "still 3 of the last 10");
  run([false]);
  assert.equal(resolved.length, 1, "2 of the last 10");
});

Deno.test("alert engine: offline, roamer stuck and spool rules run on timers set by changes", async () => {
  const { e, fired, resolved, offline } = engine([
    { name: "down", kind: "offline", for: "100ms" },
    { name: "stuck", kind: "roamer_stuck", states: ["PROVISIONING"], for: "100ms" },
    { name: "spool", kind: "spool_dropping", quiet: "100ms" },
  ]);
  try {
    offline.add("n1");
    e.status("n1", "offline");
    e.status("n2", "offline"); // back online before its time
    e.status("n2", "online");
    await waitFor(() => fired.some((f) => f.rule === "down"), "offline to fire", 5_000, 20);
    e.status("n1", "online");
    assert.deepEqual(resolved.map((r) => r.key), [alertKey("down", "n1", null)]);
    assert.equal(fired.filter((f) => f.rule === "down").length, 1, "n2 never fired");

    e.roamer("r1", "PROVISIONING");
    e.roamer("r2", "PROVISIONING");
    e.roamer("r2", "RUNNING");
    await waitFor(() => fired.some((f) => f.rule === "stuck"), "stuck to fire", 5_000, 20);
    assert.deepEqual(fired.filter((f) => f.rule === "stuck").map((f) => f.node_id), ["r1"]);
    e.roamer("r1", "RUNNING");
    assert.ok(resolved.some((r) => r.key === alertKey("stuck", "r1", null)));

    e.spoolBaseline("old", 40);
    e.spool("old", 40);
    e.spool("new", 3);
    assert.deepEqual(fired.filter((f) => f.rule === "spool").map((f) => f.node_id), ["new"]);
    await waitFor(
      () => resolved.some((r) => r.key === alertKey("spool", "new", null)),
      "spool to go quiet",
      5_000,
      20,
    );
  } finally {
    e.stop();
  }
});

Deno.test("alert engine: removed rules leave their firing alerts as orphans", () => {
  const { e, fired } = engine([{ name: "disk", kind: "disk", above: 90 }]);
  e.sample("n1", sample({ disks: [{ mount: "/", total_b: 1, used_b: 1, pct: 99 }] }), 0);
  assert.equal(fired.length, 1);
  e.setRules([], () => null, () => false);
  assert.deepEqual(e.orphans(), [fired[0].key]);
});

Deno.test("alerts section: errors name the field; webhooks must name known rules", () => {
  const bad = AlertsSection.safeParse({
    rules: [{ name: "x", kind: "temperature", above: 85 }],
    webhooks: [{ name: "w", url: "http://h/", rules: ["nope"], secret: "short" }],
  });
  assert.equal(bad.success, false);
  const paths = bad.error!.issues.map((i) => i.path.join("."));
  assert.ok(paths.includes("rules.0.sensors"), paths.join(" "));
  assert.ok(paths.includes("webhooks.0.secret"), paths.join(" "));
  const unknown = AlertsSection.safeParse({
    rules: [{ name: "x", kind: "disk", above: 90 }],
    webhooks: [{ name: "w", url: "http://h/", rules: ["nope"] }],
  });
  assert.deepEqual(unknown.error!.issues.map((i) => i.path.join(".")), ["webhooks.0.rules.0"]);
  assert.equal(
    AlertsSection.safeParse({ rules: [{ name: "x", kind: "disk", above: 90, abov: 1 }] }).success,
    false,
    "unknown keys are errors",
  );
});

Deno.test("webhook errors never carry the URL's path (a Slack or Discord secret)", () => {
  const url = "https://hooks.slack.com/services/T000/B000/SECRETSECRET?x=1";
  const text = `error sending request for url (${url}): connection refused; ` +
    `path /services/T000/B000/SECRETSECRET`;
  const out = scrubUrl(text, url);
  assert.doesNotMatch(out, /SECRET/);
  assert.match(out, /https:\/\/hooks\.slack\.com/);
});

Deno.test("a digest renders for JSON, Slack and Discord with counts and the first alerts", () => {
  const alert = {
    id: "7",
    rule: "node-down",
    kind: "offline" as const,
    severity: "critical" as const,
    state: "firing" as const,
    node_id: "agx-01",
    subject: null,
    message: "agx-01 offline for 2 min",
    value: null,
    threshold: 120,
    fired_at: 1,
    resolved_at: null,
    acked_at: null,
    acked_by: null,
    silenced_until: null,
    silenced_by: null,
  };
  const items = Array.from({ length: 12 }, () => ({ event: "alert.firing" as const, alert }));
  const digest = {
    event: "alert.digest" as const,
    firing: 30,
    resolved: 2,
    window_s: 60,
    alerts: items,
  };
  const json = JSON.parse(renderBody("json", digest, 5));
  assert.equal(json.event, "alert.digest");
  assert.equal(json.more, 20);
  const slack = JSON.parse(renderBody("slack", digest, 5));
  assert.match(slack.text, /^\[DIGEST\] 32 alert notifications in 60 s: 30 firing, 2 resolved$/);
  assert.match(slack.blocks[1].text.text, /… and 22 more/);
  const discord = JSON.parse(renderBody("discord", digest, 5));
  assert.equal(discord.embeds[0].title, "Digest: 30 firing, 2 resolved");
  assert.deepEqual(discord.allowed_mentions, { parse: [] });
});
