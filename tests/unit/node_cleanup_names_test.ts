/** Which file names under /var/log cleanup treats as rotated logs (and so may remove). */
import assert from "node:assert/strict";
import { isRotatedLog } from "../../agent/node_cleanup.ts";

Deno.test("rotated logs: numbered, compressed, dated and .old copies; never a live log", () => {
  const rotated = [
    "syslog.1",
    "syslog.2.gz",
    "auth.log.1",
    "access.log.13.xz",
    "kern.log-20260101",
    "kern.log-20260101.gz",
    "messages-2026010112",
    "dmesg.0",
    "dpkg.log.old",
    "btmp.1",
    "lastlog.bz2",
    "x.zst",
  ];
  const live = ["syslog", "auth.log", "kern.log", "dmesg", "wtmp", "btmp", "Xorg.0.log", "lastlog"];
  for (const n of rotated) assert.equal(isRotatedLog(n), true, n);
  for (const n of live) assert.equal(isRotatedLog(n), false, n);
});
