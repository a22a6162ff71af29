/**
 * Alerts end to end with real agent processes on fixture roots: a node going offline, a GPU
 * sensor running hot (while Xavier's PMIC placeholder at a constant 100 °C never fires), and a
 * filesystem filling up — each fires after its rule's time, holds while the reading sits inside
 * the hysteresis band, and resolves below it; jobs the agent ran fail and succeed (failure rate),
 * its spool reports drops after an outage, and a roamer lent by hand sits in ASSIGNED. A webhook receiver on loopback gets JSON signed
 * with HMAC-SHA256 (checked here) and Slack- and Discord-shaped bodies; a receiver that always
 * fails is retried and its failure is stored and shown; a silence stops notifications while the
 * alert keeps its history. The filesystem is a real tmpfs (root), whose fill the test sets.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { ROOT, startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { waitFor } from "../helpers/process.ts";
import { SseClient } from "../helpers/sse.ts";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const SECRET = "test-signing-key-0123456789";

interface Received {
  path: string;
  headers: Headers;
  body: string;
}

/** A webhook receiver on loopback: `/fail` always answers 500, the rest 204. */
function startReceiver() {
  const got: Received[] = [];
  let failed = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const body = await req.text();
    if (path === "/fail") {
      failed++;
      return new Response("receiver is down", { status: 500 });
    }
    got.push({ path, headers: req.headers, body });
    return new Response(null, { status: 204 });
  });
  return { got, failedCount: () => failed, url: `http://127.0.0.1:${server.addr.port}`, server };
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(join(from, e.name), join(to, e.name));
    else await Deno.copyFile(join(from, e.name), join(to, e.name));
  }
}

/** Can this process mount a tmpfs (root, not in a restricted container)? */
async function mountTmpfs(dir: string, size: string): Promise<boolean> {
  const out = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => ({ success: false }));
  return out.success;
}

Deno.test("alerts: offline, temperature and disk rules fire and resolve with hysteresis; signed webhooks, retries, silences", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "fleet-alerts-" });
  const root = join(tmp, "root");
  await copyTree(join(ROOT, "tests/fixtures/roots/x86/t0"), root);
  const thermal = join(root, "sys/class/thermal");
  const zone = async (n: number, type: string, milli: number) => {
    await Deno.mkdir(join(thermal, `thermal_zone${n}`), { recursive: true });
    await Deno.writeTextFile(join(thermal, `thermal_zone${n}`, "type"), type + "\n");
    await Deno.writeTextFile(join(thermal, `thermal_zone${n}`, "temp"), `${milli}\n`);
  };
  await zone(0, "GPU-therm", 40_000);
  // Xavier's PMIC: a constant 100 °C that is no temperature at all.
  await zone(1, "PMIC-Die", 100_000);
  const data = join(root, "data");
  await Deno.mkdir(data);
  await Deno.writeTextFile(join(root, "proc/mounts"), "/dev/fleetdata /data ext4 rw 0 0\n");
  const mounted = await mountTmpfs(data, "4m");
  try {
    if (!mounted) {
      const msg = "alerts_test needs root to mount a tmpfs for the disk rule";
      if (Deno.env.get("CI") === "true") throw new Error(msg);
      console.warn(`SKIPPING the disk steps: ${msg}`);
    }
    // Sets the file's size without passing through less: a rewrite would empty it first, and a
    // sample taken in that moment reads the disk nearly empty (and resolves the alert).
    const fill = async (pct: number) => {
      const file = join(data, "fill");
      const size = Math.round(4 * 1024 * 1024 * pct / 100);
      const now = await Deno.stat(file).then((s) => s.size, () => 0);
      if (size <= now) await Deno.truncate(file, size);
      else await Deno.writeFile(file, new Uint8Array(size - now), { append: true });
    };

    const rx = startReceiver();
    const fleetYml = join(tmp, "fleet.yml");
    await Deno.writeTextFile(
      fleetYml,
      `clusters:
  - id: lab
    nodes: [agx-01]
roamers:
  nodes: [r9]
alerts:
  rules:
    - name: node-down
      kind: offline
      for: 1s
      severity: critical
    - name: hot
      kind: temperature
      sensors: [GPU, PMIC]
      above: 85
      margin: 3
      for: 1s
    - name: disk-full
      kind: disk
      above: 90
      margin: 5
      mounts: [/data]
    - name: spool
      kind: spool_dropping
      quiet: 1s
    - name: roamer-stuck
      kind: roamer_stuck
      states: [ASSIGNED]
      for: 1s
    - name: jobs-failing
      kind: job_failure_rate
      above: 50
      window: 4
      min_jobs: 2
      margin: 10
  webhooks:
    - name: signed
      url: ${rx.url}/hook
      secret: ${SECRET}
      flood: { max: 0 }
    - name: digest
      url: ${rx.url}/digest
      rules: [hot]
      flood: { max: 1, window: 3s }
    - name: slack
      url: ${rx.url}/slack
      format: slack
      rules: [hot]
    - name: discord
      url: ${rx.url}/discord
      format: discord
      rules: [hot]
    - name: down
      url: ${rx.url}/fail
      rules: [disk-full]
      attempts: 3
      backoff: 50ms
`,
    );
    const hubArgs = [
      "--config",
      fleetYml,
      "--degraded-after",
      "1s",
      "--offline-after",
      "2s",
      "--status-check",
      "100ms",
    ];
    let hub = await startHub({ args: hubArgs });
    let sse = await SseClient.connect(hub.url, hub.adminToken);
    let api = hub.admin;
    const token = (await api.createToken({ kind: "node", node_id: "agx-01" })).token;
    let agent = startAgent({ hub: hub.url, token, stateDir: join(tmp, "state"), root });
    const firing = async (rule: string, subject: string | null = null) =>
      (await api.alerts({ rule, state: "firing" })).alerts.find((a) => a.subject === subject);
    /** Waits until `n` more samples of agx-01 arrived on the stream. */
    const samples = async (n: number) => {
      const from = sse.events.length;
      await waitFor(
        () =>
          sse.events.slice(from).filter((e) =>
            e.event === "node.sample" && JSON.parse(e.data).node_id === "agx-01"
          ).length >= n,
        `${n} samples`,
      );
    };
    const signedFor = (alertId: string, event: string) =>
      rx.got.find((r) => {
        if (r.path !== "/hook") return false;
        const b = JSON.parse(r.body);
        return b.alert?.id === alertId && b.event === event;
      });
    try {
      await sse.next((e) => e.event === "node.sample");

      await t.step("a hot GPU fires after its time; the PMIC placeholder never does", async () => {
        await zone(0, "GPU-therm", 91_500);
        const alert = await waitFor(() => firing("hot", "GPU"), "the hot GPU alert");
        assert.equal(alert.node_id, "agx-01");
        assert.equal(alert.severity, "warning");
        assert.equal(alert.value, 91.5);
        assert.match(alert.message, /GPU at 91\.5 °C/);
        // On the stream too.
        await sse.next((e) =>
          e.event === "alert.firing" && JSON.parse(e.data).alert.id === alert.id
        );
        // Inside the band (above 85 − 3): still firing after several samples.
        await zone(0, "GPU-therm", 83_500);
        await samples(4);
        assert.equal((await api.alert(alert.id)).state, "firing");
        await zone(0, "GPU-therm", 80_000);
        const resolved = await waitFor(async () => {
          const a = await api.alert(alert.id);
          return a.state === "resolved" ? a : undefined;
        }, "the GPU alert to resolve");
        assert.ok(resolved.resolved_at! >= resolved.fired_at);
        await sse.next((e) =>
          e.event === "alert.resolved" && JSON.parse(e.data).alert.id === alert.id
        );
        const all = (await api.alerts({ rule: "hot" })).alerts;
        assert.deepEqual(all.filter((a) => a.subject === "PMIC"), [], "PMIC at 100 °C never fires");
      });

      await t.step("the webhook gets signed JSON; Slack and Discord get their shapes", async () => {
        const alert = (await api.alerts({ rule: "hot" })).alerts[0];
        const firingHook = await waitFor(
          () => signedFor(alert.id, "alert.firing"),
          "signed firing",
        );
        const sig = firingHook.headers.get("x-fleet-signature");
        const want = "sha256=" + createHmac("sha256", SECRET).update(firingHook.body).digest("hex");
        assert.equal(sig, want, "X-Fleet-Signature is the HMAC-SHA256 of the body");
        assert.equal(firingHook.headers.get("content-type"), "application/json");
        assert.equal(firingHook.headers.get("x-fleet-event"), "alert.firing");
        const body = JSON.parse(firingHook.body);
        assert.equal(body.alert.rule, "hot");
        assert.equal(body.alert.node_id, "agx-01");
        await waitFor(() => signedFor(alert.id, "alert.resolved"), "signed resolved");
        const slack = await waitFor(() => rx.got.find((r) => r.path === "/slack"), "slack body");
        const sb = JSON.parse(slack.body);
        assert.match(sb.text, /\[FIRING\] warning · hot: agx-01 GPU/);
        assert.equal(sb.blocks[0].type, "section");
        assert.equal(slack.headers.get("x-fleet-signature"), null, "an unsigned webhook");
        const discord = await waitFor(() => rx.got.find((r) => r.path === "/discord"), "discord");
        const db = JSON.parse(discord.body);
        assert.match(db.content, /hot/);
        assert.equal(db.embeds[0].title, "Firing: hot");
        assert.deepEqual(db.allowed_mentions, { parse: [] });
      });

      await t.step(
        "a failing receiver is retried, and its failure is stored and shown",
        async () => {
          if (!mounted) return;
          await fill(95);
          const alert = await waitFor(() => firing("disk-full", "/data"), "the disk alert");
          assert.ok(alert.value! > 90);
          const failed = await waitFor(
            async () =>
              (await api.alertDeliveries({ webhook: "down" })).find((d) =>
                d.alert_id === alert.id && d.state === "failed"
              ),
            "the delivery to fail for good",
          );
          assert.equal(failed.attempts, 3);
          assert.equal(failed.last_status, 500);
          assert.match(failed.last_error!, /HTTP 500: receiver is down/);
          assert.equal(rx.failedCount() >= 3, true, "the receiver saw every attempt");
          const down = (await api.alertConfig()).webhooks.find((w) => w.name === "down")!;
          assert.equal(down.failed, 1);
          assert.equal(down.last?.state, "failed");
          assert.equal(down.target, rx.url, "the target shows no path");
          const events = sse.data<{ delivery: { id: string; state: string } }>("alert.delivery")
            .filter((e) => e.delivery.id === failed.id).map((e) => e.delivery.state);
          assert.deepEqual(events, ["pending", "retrying", "retrying", "failed"]);
        },
      );

      await t.step("the disk alert holds inside the band and resolves below it", async () => {
        if (!mounted) return;
        const alert = (await firing("disk-full", "/data"))!;
        await fill(87);
        await samples(4);
        assert.equal((await api.alert(alert.id)).state, "firing");
        await fill(40);
        await waitFor(
          async () => (await api.alert(alert.id)).state === "resolved",
          "disk resolved",
        );
      });

      await t.step("the job failure rate fires and resolves from jobs the agent ran", async () => {
        const run = async (command: string) => {
          const { id } = await api.submitJob({
            executor: "process",
            command,
            node: "agx-01",
            max_attempts: 1,
          });
          return await waitFor(async () => {
            const j = await api.job(id);
            return j.state === "done" || j.state === "failed" ? j.state : undefined;
          }, `job ${id} to end`);
        };
        assert.equal(await run("false"), "failed");
        assert.equal(await run("exit 3"), "failed");
        const alert = await waitFor(() => firing("jobs-failing"), "the failure-rate alert");
        assert.equal(alert.value, 100);
        assert.match(alert.message, /100 % of the last 2 jobs failed/);
        assert.equal(await run("true"), "done");
        assert.equal((await api.alert(alert.id)).state, "firing", "2 of 3 is still above 40 %");
        assert.equal(await run("true"), "done");
        assert.equal(await run("true"), "done");
        // The window of 4 now holds one failure: 25 %, below 50 − 10.
        await waitFor(
          async () => (await api.alert(alert.id)).state === "resolved",
          "rate resolved",
        );
      });

      await t.step(
        "a roamer stuck in a state fires after its time, and resolves when it moves",
        async () => {
          // r9 has no agent: lent by hand, it stays ASSIGNED.
          await api.assignRoamer("r9", { cluster: "lab", mode: "manual" });
          const alert = await waitFor(() => firing("roamer-stuck"), "the stuck-roamer alert");
          assert.equal(alert.node_id, "r9");
          assert.match(alert.message, /roamer r9 stuck in ASSIGNED for 1 s/);
          await api.releaseRoamer("r9");
          await waitFor(async () => (await api.alert(alert.id)).state === "resolved", "moved on");
        },
      );

      await t.step("a silence stops notifications and keeps the history", async () => {
        await zone(0, "GPU-therm", 92_000);
        const alert = await waitFor(() => firing("hot", "GPU"), "the GPU alert again");
        await waitFor(() => signedFor(alert.id, "alert.firing"), "its firing notification");
        const silenced = await api.silenceAlert(alert.id, 3600);
        assert.ok(silenced.silenced_until! > Date.now());
        assert.equal(silenced.silenced_by, "admin");
        await zone(0, "GPU-therm", 70_000);
        await waitFor(async () => (await api.alert(alert.id)).state === "resolved", "resolved");
        await zone(0, "GPU-therm", 95_000);
        const again = await waitFor(async () => {
          const a = await firing("hot", "GPU");
          return a && a.id !== alert.id ? a : undefined;
        }, "a new firing of the silenced rule and sensor");
        assert.ok(again.silenced_until, "the new firing shows the silence");
        // A test send is stored after anything the alerts above would have queued.
        const test = await api.testWebhook("signed");
        await waitFor(
          () =>
            rx.got.find((r) => r.path === "/hook" && r.headers.get("x-fleet-delivery") === test.id),
          "the test send",
        );
        assert.equal(signedFor(alert.id, "alert.resolved"), undefined, "no resolved notification");
        assert.equal(signedFor(again.id, "alert.firing"), undefined, "no firing notification");
        const deliveries = await api.alertDeliveries({ limit: 1000 });
        assert.equal(deliveries.filter((d) => d.alert_id === again.id).length, 0);
        const history = (await api.alerts({ rule: "hot" })).alerts.map((a) => a.id);
        assert.ok(history.includes(alert.id) && history.includes(again.id), "history kept");
        const audit = (await api.audit({ action: "alert." })).entries.map((e) => e.action);
        assert.ok(audit.includes("alert.silence") && audit.includes("alert.webhook_test"));
        await zone(0, "GPU-therm", 40_000);
        await waitFor(
          async () => (await api.alert(again.id)).state === "resolved",
          "resolved again",
        );
      });

      await t.step("acknowledging is stored, shown and audited", async () => {
        const alert = (await api.alerts({ rule: "hot" })).alerts[0];
        const acked = await api.ackAlert(alert.id);
        assert.equal(acked.acked_by, "admin");
        assert.ok(acked.acked_at);
        await sse.next((e) =>
          e.event === "alert.updated" && JSON.parse(e.data).alert.acked_at !== null
        );
        const audit = (await api.audit({ action: "alert.ack" })).entries;
        assert.equal(audit[0].target, alert.id);
      });

      await t.step(
        "a node offline for the rule's time fires, and resolves when it is back",
        async () => {
          await agent.stop();
          const alert = await waitFor(() => firing("node-down"), "the offline alert", 20_000);
          assert.equal(alert.node_id, "agx-01");
          assert.equal(alert.severity, "critical");
          assert.equal((await api.node("agx-01")).status, "offline");
          const hook = await waitFor(
            () => signedFor(alert.id, "alert.firing"),
            "offline notification",
          );
          assert.ok(hook.headers.get("x-fleet-signature"));
          // While it was down its spool overflowed: the agent reports the drops with its next
          // batch. (The spool drops whole 1 MiB segments, too slow to fill here: the agent's
          // persisted count is raised instead.)
          const cursorFile = join(tmp, "state", "spool", "cursor.json");
          const cursor = JSON.parse(await Deno.readTextFile(cursorFile));
          await Deno.writeTextFile(
            cursorFile,
            JSON.stringify({ ...cursor, dropped: cursor.dropped + 7 }),
          );
          agent = startAgent({ hub: hub.url, token, stateDir: join(tmp, "state"), root });
          await waitFor(
            async () => (await api.alert(alert.id)).state === "resolved",
            "back online",
          );
          const spool = await waitFor(() => firing("spool"), "the spool alert");
          assert.match(spool.message, /agx-01 agent spool dropped 7 samples/);
          // It resolves once the count stays put for the rule's quiet time.
          await waitFor(
            async () => (await api.alert(spool.id)).state === "resolved",
            "spool quiet",
          );
        },
      );

      await t.step("a flooded webhook gets the rest of its window as one digest", async () => {
        // The same notifications reached the unbounded slack webhook one by one.
        const bodies = (path: string) =>
          rx.got.filter((r) => r.path === path).map((r) => JSON.parse(r.body));
        const sent = () => {
          const all = bodies("/digest");
          const digests = all.filter((b) => b.event === "alert.digest");
          return {
            single: all.length - digests.length,
            held: digests.reduce((n, d) => n + d.firing + d.resolved, 0),
            digests,
          };
        };
        const final = await waitFor(() => {
          const s = sent();
          return s.single + s.held === bodies("/slack").length && s.digests.length ? s : undefined;
        }, "every notification to arrive, singly or in a digest");
        assert.ok(final.single >= 1);
        const d = final.digests[0];
        assert.equal(d.alerts.length, d.firing + d.resolved);
        assert.ok(d.alerts.every((a: { alert: { rule: string } }) => a.alert.rule === "hot"));
        assert.equal(d.window_s, 3);
      });

      await t.step("a hub restart keeps a firing alert, which then resolves once", async () => {
        await zone(0, "GPU-therm", 96_000);
        const alert = await waitFor(() => firing("hot", "GPU"), "the GPU alert before the restart");
        await sse.close();
        await hub.stop();
        hub = await startHub({ args: hubArgs, dataDir: hub.dataDir, port: hub.port });
        api = hub.admin;
        sse = await SseClient.connect(hub.url, hub.adminToken);
        // The agent comes back to the same address and keeps reporting 96 °C.
        await samples(3);
        const still = (await api.alerts({ rule: "hot", state: "firing" })).alerts;
        assert.deepEqual(still.map((a) => a.id), [alert.id], "the same alert, not a second one");
        await zone(0, "GPU-therm", 40_000);
        await waitFor(async () => (await api.alert(alert.id)).state === "resolved", "resolved");
      });

      await t.step(
        "MCP: list, config, acknowledge and silence through the SDK client",
        async () => {
          const client = new Client({ name: "alerts-test", version: "1" });
          await client.connect(
            new StreamableHTTPClientTransport(new URL(`${hub.url}/mcp`), {
              requestInit: { headers: { authorization: `Bearer ${hub.adminToken}` } },
            }),
          );
          try {
            type R = { structuredContent?: Record<string, unknown>; isError?: boolean };
            const call = async (name: string, args: Record<string, unknown> = {}) => {
              const r = await client.callTool({ name, arguments: args }) as R;
              assert.notEqual(r.isError, true, `${name}: ${JSON.stringify(r)}`);
              return r.structuredContent!;
            };
            const listed = await call("fleet_alerts_list", { rule: "disk-full" }) as {
              alerts: { id: string; acked_at: number | null }[];
            };
            if (mounted) assert.ok(listed.alerts.length >= 1);
            const hot = (await api.alerts({ rule: "hot", limit: 1 })).alerts[0];
            const acked = await call("fleet_alert_ack", { alert: hot.id }) as {
              alert: { acked_by: string };
            };
            assert.equal(acked.alert.acked_by, "admin");
            const silenced = await call("fleet_alert_silence", { alert: hot.id, for_s: 0 }) as {
              alert: { silenced_until: number | null };
            };
            assert.equal(silenced.alert.silenced_until, null, "for_s 0 lifts the silence");
            const config = await call("fleet_alert_config") as {
              webhooks: { name: string; failed: number }[];
            };
            assert.deepEqual(config.webhooks.map((w) => w.name), [
              "signed",
              "digest",
              "slack",
              "discord",
              "down",
            ]);
            const unsilence = (await api.audit({ action: "alert.unsilence" })).entries[0];
            assert.equal(unsilence.detail?.via, "mcp");
          } finally {
            await client.close();
          }
        },
      );

      await t.step("rules reload with fleet.yml; a bad rule is refused with its line", async () => {
        const good = await Deno.readTextFile(fleetYml);
        await Deno.writeTextFile(fleetYml, good.replace("      above: 85\n", "      abov: 85\n"));
        const res = await fetch(`${hub.url}/api/v1/config/reload`, {
          method: "POST",
          headers: { authorization: `Bearer ${hub.adminToken}` },
        });
        assert.equal(res.status, 400);
        const problem = await res.json();
        assert.match(problem.detail, /fleet\.yml:\d+: alerts\.rules\.1/);
        assert.equal((await api.alertConfig()).rules.length, 6, "the old rules stay");
        await Deno.writeTextFile(
          fleetYml,
          good.replace("    - name: disk-full\n", "    - name: disk-full-2\n").replace(
            "rules: [disk-full]",
            "rules: [disk-full-2]",
          ),
        );
        const reload = () =>
          api.request("POST", "/api/v1/config/reload") as Promise<Record<string, unknown>>;
        await reload();
        const rules = (await api.alertConfig()).rules.map((r) => r.name);
        assert.deepEqual(rules, [
          "node-down",
          "hot",
          "disk-full-2",
          "spool",
          "roamer-stuck",
          "jobs-failing",
        ]);
        await Deno.writeTextFile(fleetYml, good);
        await reload();
      });

      await t.step("bad input changes nothing", async () => {
        const id = (await api.alerts({ limit: 1 })).alerts[0].id;
        const res = await fetch(`${hub.url}/api/v1/alerts/${id}/silence`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${hub.adminToken}`,
            "content-type": "application/json",
          },
          body: JSON.stringify({ for_s: 5 }),
        });
        assert.equal(res.status, 400);
        assert.match((await res.json()).detail, /for_s/);
        const missing = await fetch(`${hub.url}/api/v1/alerts/webhooks/nope/test`, {
          method: "POST",
          headers: { authorization: `Bearer ${hub.adminToken}` },
        });
        assert.equal(missing.status, 404);
        await missing.body?.cancel();
      });
    } finally {
      await sse.close();
      await agent.stop();
      await hub.stop();
      await rx.server.shutdown();
    }
  } finally {
    // Also when the hub or agent failed to start: no tmpfs is left mounted behind.
    if (mounted) {
      await new Deno.Command("umount", { args: [data], stdout: "null", stderr: "null" }).output();
    }
    await Deno.remove(tmp, { recursive: true });
  }
});
