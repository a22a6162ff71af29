/**
 * The alert tables on a real SQLite file: one firing row per rule and subject, resolution keeps
 * the row as history, silences by key (and their end), and pruning drops only old history.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openDatabase } from "../../hub/core/db.ts";
import {
  firingKeys,
  insertDelivery,
  insertFiring,
  isSilenced,
  listAlerts,
  pruneAlerts,
  resolveFiring,
  setSilence,
} from "../../hub/alerts/store.ts";

Deno.test("alert store: one firing row per key, history kept, silences, pruning", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fleet-alert-store-" });
  const db = await openDatabase(join(dir, "fleet.db"));
  try {
    const spec = {
      key: "disk|n1|/",
      rule: "disk",
      kind: "disk" as const,
      severity: "warning" as const,
      node_id: "n1",
      subject: "/",
      message: "n1 / 95 % full",
      value: 95,
      threshold: 90,
    };
    const day = 86_400_000;
    const a = db.transaction((tx) => insertFiring(tx, spec, 1_000))!;
    assert.equal(a.state, "firing");
    assert.equal(db.transaction((tx) => insertFiring(tx, spec, 2_000)), undefined, "one per key");
    const r = db.transaction((tx) => resolveFiring(tx, spec.key, 80, "down to 80 %", 3_000))!;
    assert.equal(r.id, a.id);
    assert.equal(r.state, "resolved");
    assert.equal(r.value, 80);
    assert.match(r.message, /resolved: down to 80 %/);
    const b = db.transaction((tx) => insertFiring(tx, spec, 10 * day))!;
    assert.notEqual(b.id, a.id, "a new episode is a new row");
    assert.deepEqual(firingKeys(db).map((k) => k.key), [spec.key]);

    db.transaction((tx) => setSilence(tx, spec.key, 10 * day + 60_000, "admin", 10 * day));
    assert.equal(isSilenced(db, spec.key, 10 * day + 1), true);
    assert.equal(isSilenced(db, spec.key, 10 * day + 60_001), false, "a silence ends");
    const listed = listAlerts(db, { limit: 10 }, 10 * day + 1);
    assert.equal(listed[0].silenced_by, "admin", "both rows of the key show the silence");
    assert.equal(listed[1].silenced_by, "admin");

    db.transaction((tx) =>
      insertDelivery(tx, { webhook: "ops", alert_id: 1, event: "alert.firing", payload: "{}" }, 0)
    );
    // History older than 5 days goes (the resolved row); the firing one and open deliveries stay.
    const pruned = db.transaction((tx) => pruneAlerts(tx, 5 * day, 10 * day + 120_000));
    assert.equal(pruned, 1);
    assert.deepEqual(listAlerts(db, { limit: 10 }).map((x) => x.id), [b.id]);
    assert.equal(isSilenced(db, spec.key, 10 * day + 1), false, "expired silences are dropped");
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});
