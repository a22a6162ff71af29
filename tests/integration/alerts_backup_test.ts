/**
 * The backup_stale rule in the hub built in process: backup schedules of fleet.yml (every second,
 * so the allowed age is 2 s with `grace: 2`) decide which node × target pairs are watched; pairs
 * that never had a good backup fire once their first deadline passes, a failed backup changes
 * nothing, a good one resolves the alert and re-arms its deadline, and a reload that adds a node
 * to a schedule starts that node's clock. No S3 here: backup rows are written with the backups
 * store and announced on the bus as `backup.state`, exactly as the backups service does when an
 * agent's run ends (the scheduler never runs without S3, so nothing else writes them).
 */
import assert from "node:assert/strict";
import {
  closeInProcessHub,
  type InProcessHub,
  openInProcessHub,
  send,
} from "../helpers/inproc_hub.ts";
import { waitFor } from "../helpers/process.ts";
import { finishBackup, insertBackup } from "../../hub/backups/store.ts";
import { alertKey } from "../../hub/alerts/engine.ts";
import type { AlertInfo, BackupState, BackupTarget } from "../../shared/protocol/mod.ts";
import { targetLabel } from "../../shared/protocol/mod.ts";

const fleetYml = (fastNodes: string) => `
nodes:
  - { id: n1 }
  - { id: n2 }
  - { id: n3 }
clusters:
  - id: vision
    nodes: [n2]
backups:
  schedules:
    - name: fast
      cron: "* * * * * *"
      nodes: [${fastNodes}]
      targets: [{ kind: config }]
    - name: models
      cron: "* * * * * *"
      cluster: vision
      targets: [{ kind: volume, name: models }]
alerts:
  rules:
    - name: stale
      kind: backup_stale
      grace: 2
`;

/** Writes one finished backup and announces it, as the backups service does at a run's end. */
async function backupEnded(
  hub: InProcessHub,
  node: string,
  target: BackupTarget,
  state: Exclude<BackupState, "running">,
): Promise<void> {
  const { db, bus } = hub.services;
  const now = Date.now();
  const info = await db.write((tx) => {
    const row = insertBackup(tx, {
      node_id: node,
      target,
      target_label: targetLabel(target),
      state: "running",
      error: null,
      schedule: "fast",
      note: null,
      by: { name: "fast", kind: "schedule" },
      started_at: now,
    });
    return finishBackup(tx, Number(row.id), {
      state,
      finished_at: now,
      snapshot_id: state === "done" ? `snap-${row.id}` : null,
      error: state === "done" ? null : "the agent's upload failed",
    })!;
  });
  bus.publish({ type: "backup.state", backup: info });
}

Deno.test("backup_stale: schedules pick the subjects; only a good backup resolves", async (t) => {
  const hub = await openInProcessHub("fleet-alerts-backup-", fleetYml("n1"));
  const auth = { authorization: `Bearer ${hub.adminToken}` };
  const alerts = async (): Promise<AlertInfo[]> => {
    const res = await send(hub.app, "GET", "/api/v1/alerts?rule=stale&limit=100", auth);
    assert.equal(res.status, 200);
    return (await res.json()).alerts;
  };
  const firing = async (node: string, subject: string) =>
    (await alerts()).filter((a) =>
      a.state === "firing" && a.node_id === node && a.subject === subject
    );
  const cfg = "config:/etc/fleet";
  const config: BackupTarget = { kind: "config", path: "/etc/fleet" };
  try {
    hub.services.alerts.start();

    await t.step("subjects never backed up fire after interval × grace", async () => {
      await waitFor(
        async () => (await firing("n1", cfg)).length === 1,
        "n1 config to fire",
        10_000,
        50,
      );
      await waitFor(
        async () => (await firing("n2", "volume:models")).length === 1,
        "n2 (cluster vision) models to fire",
        10_000,
        50,
      );
      const all = await alerts();
      assert.ok(!all.some((a) => a.node_id === "n3"), "no schedule covers n3");
      assert.ok(!all.some((a) => a.node_id === "n1" && a.subject !== cfg), "n1 has one target");
      const [a] = await firing("n1", cfg);
      assert.equal(a.kind, "backup_stale");
      assert.equal(a.threshold, 2);
      assert.match(a.message, /n1 config:\/etc\/fleet: no good backup in .*fast every 1 s × 2/);
      const res = await send(hub.app, "GET", "/api/v1/alerts/config", auth);
      const rule = (await res.json()).rules.find((r: { name: string }) => r.name === "stale");
      assert.equal(rule.kind, "backup_stale");
      assert.match(rule.description, /2 × its schedule's interval/);
    });

    await t.step("failed and partial backups leave it firing; a good one resolves it", async () => {
      const key = alertKey("stale", "n1", cfg);
      await backupEnded(hub, "n1", config, "failed");
      await backupEnded(hub, "n1", config, "partial");
      assert.ok(hub.services.alerts.engine.firing(key), "still firing after failed runs");
      assert.equal((await firing("n1", cfg)).length, 1);
      await backupEnded(hub, "n1", config, "done");
      assert.ok(!hub.services.alerts.engine.firing(key));
      await waitFor(
        async () => (await alerts()).some((a) => a.node_id === "n1" && a.state === "resolved"),
        "the resolution to be stored",
        10_000,
        50,
      );
      const resolved = (await alerts()).find((a) => a.node_id === "n1" && a.state === "resolved")!;
      assert.match(resolved.message, /good backup landed/);
      assert.equal((await firing("n2", "volume:models")).length, 1, "n2 is untouched");
    });

    await t.step("the deadline re-arms; a reload that adds a node starts its clock", async () => {
      await Deno.writeTextFile(hub.fleetYml, fleetYml("n1, n3"));
      const res = await send(hub.app, "POST", "/api/v1/config/reload", auth);
      assert.equal(res.status, 200);
      await waitFor(
        async () => (await firing("n3", cfg)).length === 1,
        "n3 to fire once the reload's deadline passed",
        10_000,
        50,
      );
      await waitFor(
        async () => (await firing("n1", cfg)).length === 1,
        "n1 to fire again with no backup since the good one",
        10_000,
        50,
      );
      const [again] = await firing("n1", cfg);
      assert.match(again.message, /last good backup .* ago/);
      assert.ok(again.value !== null && again.value >= 2);
    });
  } finally {
    hub.services.alerts.stop();
    await closeInProcessHub(hub);
  }
});
