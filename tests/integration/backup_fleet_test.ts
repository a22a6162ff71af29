/**
 * Backups as a fleet feature, end to end on real parts: one Ceph RGW (real S3) for the file, real
 * hub and agent processes, the hub's SSE stream, the CLI, and a real dockerd for volumes.
 *
 * Proves: API → agent → RGW → list → tree → restore (dry run and real) with progress on the
 * stream; an unchanged re-run uploads no chunk; kill -9 of the agent mid-backup leaves it
 * `interrupted` (never good), the next run completes, prune removes only orphan chunks and every
 * kept snapshot still verifies; kill -9 of the hub mid-backup leaves a consistent state after a
 * restart; the hub database goes to S3 and `restore-db` brings it back into an empty data dir
 * where a hub serves the same fleet, jobs and tokens; wrong credentials, an unreachable endpoint
 * and a missing bucket are clear errors on the backup and in the CLI; a Docker volume is backed
 * up and restored on a real dockerd; `fleet-agent cleanup` syncs the config dir to S3 and
 * `fleet-agent recover` pulls it back.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type HubProcess, ROOT, startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { waitFor } from "../helpers/process.ts";
import { waitControl } from "../helpers/control.ts";
import { SseClient } from "../helpers/sse.ts";
import { type Rgw, rgwUnavailable, startRgw } from "../helpers/rgw.ts";
import { DOCKER_MISSING, startDockerd } from "../helpers/dockerd.ts";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { listSnapshots } from "../../shared/backup/mod.ts";
import { ApiClient } from "../../shared/api_client.ts";
import type { BackupInfo } from "../../shared/protocol/mod.ts";
import type { Child } from "../helpers/process.ts";
import { HUB_PERMISSIONS } from "../../bootstrap/dist.ts";

const skip = rgwUnavailable();
const CI = Deno.env.get("CI") === "true";

/** fleet.yml of a hub using `rgw` (or other S3 settings). */
function fleetYml(s3: Record<string, string | boolean>, extra = ""): string {
  return `s3:\n${
    Object.entries(s3).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join("\n")
  }\nclusters:\n  - id: lab\n    nodes: [n1, n2]\nbackups:\n  prune_grace: 1ms\n${extra}`;
}

function s3Of(rgw: Rgw): Record<string, string | boolean> {
  return {
    endpoint: rgw.endpoint,
    access_key: rgw.accessKey,
    secret_key: rgw.secretKey,
    bucket: "fleet-backups",
    configs_bucket: "fleet-configs",
    path_style: true,
  };
}

async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...HUB_PERMISSIONS, join(ROOT, "hub/main.ts"), ...args],
    env,
    stdin: "null",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

async function settled(api: ApiClient, id: string, timeoutMs = 60_000): Promise<BackupInfo> {
  return await waitFor(
    async () => {
      const b = await api.backup(id);
      return b.state === "running" ? undefined : b;
    },
    `backup ${id} to end`,
    timeoutMs,
    100,
  );
}

/** A tree of files of a few sizes, a symlink and an empty file. */
async function makeTree(dir: string, bigMb: number): Promise<void> {
  await Deno.mkdir(join(dir, "sub/deeper"), { recursive: true });
  await Deno.writeTextFile(join(dir, "hello.txt"), "hello fleet\n");
  await Deno.writeTextFile(join(dir, "sub/config.yml"), "a: 1\nb: [2, 3]\n");
  await Deno.writeFile(join(dir, "sub/empty"), new Uint8Array());
  const big = new Uint8Array(bigMb * 1024 * 1024);
  for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
  await Deno.writeFile(join(dir, "sub/deeper/blob.bin"), big);
  await Deno.symlink("hello.txt", join(dir, "link"));
  await Deno.chmod(join(dir, "sub/config.yml"), 0o640);
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([Deno.readFile(a), Deno.readFile(b)]);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

async function chunkCount(rgw: Rgw): Promise<number> {
  const s3 = await rgw.bucket("fleet-backups");
  let n = 0;
  for await (const _ of s3.list("nodes/chunks/")) n++;
  return n;
}

Deno.test({
  name: "backups across the fleet: API, agent, RGW, progress, restore, kills, hub DB, errors",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const rgw = await startRgw();
    const dir = await Deno.makeTempDir({ prefix: "fleet-backup-fleet-" });
    const children: Child[] = [];
    let hub: HubProcess | undefined;
    try {
      await rgw.bucket("fleet-backups");
      await rgw.bucket("fleet-configs");
      const hubDir = join(dir, "hub");
      await Deno.mkdir(hubDir, { recursive: true });
      const configFile = join(dir, "fleet.yml");
      await Deno.writeTextFile(configFile, fleetYml(s3Of(rgw)));
      hub = await startHub({ dataDir: hubDir, args: ["--config", configFile] });
      const admin = new ApiClient({ hub: hub.url, token: hub.adminToken, timeoutMs: 60_000 });
      const nodeToken = (await admin.createToken({ kind: "node", node_id: "n1" })).token;
      const agentArgs = ["--jobs", "off", "--interval", "1s"];
      let agent = startAgent({
        hub: hub.url,
        token: nodeToken,
        stateDir: join(dir, "a1"),
        args: agentArgs,
      });
      children.push(agent);
      // A second node, to restore onto another machine than the one backed up.
      const n2 = startAgent({
        hub: hub.url,
        token: (await admin.createToken({ kind: "node", node_id: "n2" })).token,
        stateDir: join(dir, "a2"),
        args: agentArgs,
      });
      children.push(n2);
      await waitControl(admin, "n1");
      await waitControl(admin, "n2");
      const tree = join(dir, "tree");
      await makeTree(tree, 3);

      let first: BackupInfo;
      await t.step(
        "a backup runs on the agent, shows progress, and is listed as good",
        async () => {
          const sse = await SseClient.connect(hub!.url, hub!.adminToken);
          try {
            const created = await admin.createBackup({
              nodes: ["n1"],
              targets: [{ kind: "path", path: tree }],
              note: "first",
            });
            assert.equal(created.backups.length, 1);
            assert.equal(created.backups[0].state, "running");
            first = await settled(admin, created.backups[0].id);
            assert.equal(first.state, "done", first.error ?? "");
            assert.ok(first.snapshot_id);
            assert.ok(first.size_b! >= 3 * 1024 * 1024, `size ${first.size_b}`);
            assert.ok(first.new_b! > 0 && first.chunks_new! > 0);
            assert.ok(first.duration_ms! >= 0);
            await waitFor(
              () => sse.events.some((e) => e.event === "backup.progress"),
              "a backup.progress event",
            );
            const progress = sse.events.filter((e) => e.event === "backup.progress")
              .map((e) => JSON.parse(e.data).progress);
            assert.ok(progress.some((p) => p.bytes > 0 && p.chunks_new >= 0 && "eta_s" in p));
            const states = sse.events.filter((e) => e.event === "backup.state")
              .map((e) => JSON.parse(e.data).backup.state);
            assert.deepEqual([states[0], states.at(-1)], ["running", "done"]);
            // Keys never reach the stream, the API or the audit log.
            const all = sse.events.map((e) => e.data).join("\n") +
              JSON.stringify(await admin.backups()) + JSON.stringify(await admin.audit()) +
              JSON.stringify(await admin.backupStatus());
            assert.ok(!all.includes(rgw.secretKey) && !all.includes(rgw.accessKey));
          } finally {
            await sse.close();
          }
          const good = await admin.backups({ good: true });
          assert.deepEqual(good.backups.map((b) => b.id), [first.id]);
          const audit = await admin.audit({ action: "backup.create" });
          assert.equal(audit.entries[0].result, "ok");
        },
      );

      await t.step(
        "the tree is browsable; a restore elsewhere is byte-equal; a dry run writes nothing",
        async () => {
          const root = await admin.backupTree(first.id);
          const names = root.entries.map((e) => e.path).sort();
          assert.deepEqual(names, ["hello.txt", "link", "sub"]);
          assert.equal(root.entries.find((e) => e.path === "link")?.target, "hello.txt");
          const sub = await admin.backupTree(first.id, { path: "sub", recursive: true });
          assert.ok(
            sub.entries.some((e) => e.path === "sub/deeper/blob.bin" && e.size === 3 * 1024 * 1024),
          );

          const out = join(dir, "restored");
          const plan = await admin.restoreBackup(first.id, { to: out, dry_run: true });
          assert.equal(plan.state, "done", plan.error ?? "");
          assert.ok(plan.written.includes("sub/deeper/blob.bin"), plan.written.join(","));
          assert.equal(await Deno.stat(out).then(() => true, () => false), false);

          const started = await admin.restoreBackup(first.id, { to: out });
          const done = await waitFor(
            async () => {
              const r = await admin.restore(started.id);
              return r.state === "running" ? undefined : r;
            },
            "restore to end",
            60_000,
          );
          assert.equal(done.state, "done", done.error ?? "");
          for (const f of ["hello.txt", "sub/config.yml", "sub/empty", "sub/deeper/blob.bin"]) {
            assert.ok(await sameFile(join(tree, f), join(out, f)), f);
          }
          assert.equal((await Deno.stat(join(out, "sub/config.yml"))).mode! & 0o777, 0o640);
          assert.equal(await Deno.readLink(join(out, "link")), "hello.txt");

          // Only some paths, into a second directory, on the other node.
          const part = join(dir, "part");
          const r2 = await admin.restoreBackup(first.id, {
            node: "n2",
            to: part,
            paths: ["sub/config.yml"],
          });
          assert.equal(r2.node_id, "n2");
          const d2 = await waitFor(
            async () => {
              const r = await admin.restore(r2.id);
              return r.state === "running" ? undefined : r;
            },
            "partial restore",
            60_000,
          );
          assert.equal(d2.state, "done", d2.error ?? "");
          assert.ok(await sameFile(join(tree, "sub/config.yml"), join(part, "sub/config.yml")));
          assert.equal(
            await Deno.stat(join(part, "hello.txt")).then(() => true, () => false),
            false,
          );
          const audit = await admin.audit({ action: "backup.restore" });
          assert.ok(audit.entries.length >= 2);
        },
      );

      await t.step("an unchanged re-run uploads no chunk; verify passes", async () => {
        const [b] =
          (await admin.createBackup({ nodes: ["n1"], targets: [{ kind: "path", path: tree }] }))
            .backups;
        const again = await settled(admin, b.id);
        assert.equal(again.state, "done", again.error ?? "");
        assert.equal(again.chunks_new, 0);
        assert.ok(again.chunks_reused! > 0);
        const v = await admin.verifyBackup(again.id, 1);
        assert.equal(v.ok, true, v.detail);
        assert.equal((await admin.backup(again.id)).verify_ok, true);

        // Two targets of one node run one after the other: the second waits for the first.
        const two = (await admin.createBackup({
          nodes: ["n1"],
          targets: [{ kind: "path", path: tree }, { kind: "path", path: join(tree, "sub") }],
        })).backups;
        assert.equal((await admin.backup(two[1].id)).queued, true);
        const ends = await Promise.all(two.map((x) => settled(admin, x.id)));
        assert.deepEqual(ends.map((x) => x.state), ["done", "done"]);
        assert.ok(ends[1].started_at <= ends[0].finished_at!);
        assert.equal(
          (await admin.backupTree(ends[1].id)).entries.some((e) => e.path === "config.yml"),
          true,
        );
      });

      await t.step(
        "kill -9 of the agent mid-backup: not good; next run completes; prune drops only orphans",
        async () => {
          const big = join(dir, "bigtree");
          await makeTree(big, 96);
          const baseline = await chunkCount(rgw);
          const [b] =
            (await admin.createBackup({ nodes: ["n1"], targets: [{ kind: "path", path: big }] }))
              .backups;
          // Killed once some of its chunks are in the bucket (orphans to be).
          await waitFor(
            async () => (await chunkCount(rgw)) > baseline,
            "uploaded chunks",
            60_000,
            20,
          );
          assert.equal((await admin.backup(b.id)).state, "running");
          await agent.stop("SIGKILL");
          const killed = await settled(admin, b.id);
          assert.equal(killed.state, "interrupted");
          assert.equal(killed.snapshot_id, null);
          assert.ok(!(await admin.backups({ good: true })).backups.some((x) => x.id === b.id));
          const orphansBefore = await chunkCount(rgw);

          agent = startAgent({
            hub: hub!.url,
            token: nodeToken,
            stateDir: join(dir, "a1"),
            args: agentArgs,
          });
          children.push(agent);
          await waitControl(admin, "n1");
          // Prune with a fresh tree's chunks orphaned: the killed run's uploads go, nothing else.
          // (Object times have whole seconds: a prune in the kill's second keeps them as young.)
          let deleted = 0;
          await waitFor(
            async () => {
              deleted += (await admin.pruneBackups()).chunks_deleted;
              return deleted > 0;
            },
            "a prune that deletes the orphans",
            20_000,
            300,
          );
          const after = await chunkCount(rgw);
          assert.ok(after > 0);
          assert.equal(after, orphansBefore - deleted);
          for (const g of (await admin.backups({ good: true })).backups) {
            const v = await admin.verifyBackup(g.id);
            assert.equal(v.ok, true, `backup ${g.id}: ${v.detail}`);
          }
          const [c] =
            (await admin.createBackup({ nodes: ["n1"], targets: [{ kind: "path", path: big }] }))
              .backups;
          const ok = await settled(admin, c.id, 120_000);
          assert.equal(ok.state, "done", ok.error ?? "");
          await Deno.remove(big, { recursive: true });
        },
      );

      await t.step("kill -9 of the hub mid-backup: consistent after the restart", async () => {
        const big = join(dir, "bigtree2");
        await makeTree(big, 96);
        const [b] =
          (await admin.createBackup({ nodes: ["n1"], targets: [{ kind: "path", path: big }] }))
            .backups;
        await waitFor(
          async () => (await admin.backup(b.id)).progress !== null,
          "progress",
          60_000,
          20,
        );
        await hub!.stop("SIGKILL");
        hub = await startHub({ dataDir: hubDir, args: ["--config", configFile], port: hub!.port });
        const api2 = new ApiClient({ hub: hub.url, token: hub.adminToken, timeoutMs: 60_000 });
        const after = await api2.backup(b.id);
        assert.equal(after.state, "interrupted");
        assert.ok(!(await api2.backups({ good: true })).backups.some((x) => x.id === b.id));
        await waitControl(api2, "n1", true, 60_000);
        const [c] =
          (await api2.createBackup({ nodes: ["n1"], targets: [{ kind: "path", path: tree }] }))
            .backups;
        assert.equal((await settled(api2, c.id)).state, "done");
        await Deno.remove(big, { recursive: true });
      });

      const api = new ApiClient({ hub: hub!.url, token: hub!.adminToken, timeoutMs: 60_000 });

      await t.step(
        "hub database → S3 → restore-db → a hub serving the same fleet, jobs, tokens",
        async () => {
          const job = await api.submitJob({ executor: "process", command: ["true"], node: "n1" });
          const snap = await api.backupHubDb();
          assert.match(snap.key, /^s3:\/\/fleet-backups\/hub\//);
          const fresh = join(dir, "restored-hub");
          const r = await cli([
            "restore-db",
            "--from",
            snap.key,
            "--data-dir",
            fresh,
            "--config",
            configFile,
          ]);
          assert.equal(r.code, 0, r.stderr);
          // Into a data dir that holds a database: refused.
          const again = await cli([
            "restore-db",
            "--from",
            snap.url,
            "--data-dir",
            fresh,
            "--config",
            configFile,
          ]);
          assert.equal(again.code, 1);
          assert.match(again.stderr, /exists/);
          // The secret is never in the database (only its hash): the operator keeps their token.
          await Deno.writeTextFile(join(fresh, "admin.token"), hub!.adminToken + "\n");
          const restored = await startHub({ dataDir: fresh });
          try {
            // The old admin token (its hash is in the database) works on the restored hub.
            const same = new ApiClient({ hub: restored.url, token: hub!.adminToken });
            const nodes = (await same.fleet()).nodes.map((n) => n.id);
            assert.ok(nodes.includes("n1"), nodes.join(","));
            const tokens = (await same.tokens()).map((x) => x.id).sort();
            assert.deepEqual(tokens, (await api.tokens()).map((x) => x.id).sort());
            assert.equal((await same.job(job.id)).id, job.id);
            assert.ok((await same.backups()).backups.length >= 4);
          } finally {
            await restored.stop();
          }
        },
      );

      await t.step(
        "wrong credentials, unreachable endpoint, missing bucket: clear errors, nothing good",
        async () => {
          const cases: [Record<string, string | boolean>, RegExp][] = [
            [{ ...s3Of(rgw), secret_key: "wrong-secret-key" }, /credentials/i],
            [{ ...s3Of(rgw), endpoint: "http://127.0.0.1:9" }, /reach|unreachable/i],
            [{ ...s3Of(rgw), bucket: "no-such-bucket" }, /bucket/i],
            // A key on a repository made without one: the node's engine refuses, writes nothing.
            [{ ...s3Of(rgw), encryption_key: "a key the repository never had" }, /encrypt/i],
          ];
          const goodBefore = (await api.backups({ good: true })).backups.length;
          for (const [s3, why] of cases) {
            await Deno.writeTextFile(configFile, fleetYml(s3));
            await api.request("POST", "/api/v1/config/reload");
            const [started] =
              (await api.createBackup({ nodes: ["n1"], targets: [{ kind: "path", path: tree }] }))
                .backups;
            const b = await settled(api, started.id);
            assert.equal(b.state, "failed");
            assert.match(b.error ?? "", why);
            const c = await cli([
              "backup",
              "create",
              "--node",
              "n1",
              "--path",
              tree,
              "--hub",
              hub!.url,
              "--token",
              hub!.adminToken,
            ]);
            assert.equal(c.code, 1, c.stdout + c.stderr);
            assert.match(c.stderr, why);
            for (const secret of ["wrong-secret-key", "a key the repository never had"]) {
              assert.ok(!c.stdout.includes(secret) && !c.stderr.includes(secret));
            }
          }
          assert.equal((await api.backups({ good: true })).backups.length, goodBefore);
          await Deno.writeTextFile(configFile, fleetYml(s3Of(rgw)));
          await api.request("POST", "/api/v1/config/reload");
          const l = await cli(["backup", "list", "--hub", hub!.url, "--token", hub!.adminToken]);
          assert.equal(l.code, 0, l.stderr);
          assert.match(l.stdout, /interrupted/);
          assert.match(l.stdout, /failed/);
        },
      );

      await t.step("cleanup syncs the config dir to S3; recover pulls it back", async () => {
        const etc = join(dir, "etc-fleet");
        await Deno.mkdir(join(etc, "conf.d"), { recursive: true });
        const agentYml = join(etc, "agent.yml");
        await Deno.writeTextFile(
          agentYml,
          `hub: ${hub!.url}\ntoken: ${nodeToken}\ndocker_socket: "off"\nstate_dir: ${
            join(dir, "cleanup-state")
          }\n`,
        );
        await Deno.chmod(agentYml, 0o600);
        await Deno.writeTextFile(join(etc, "node.yml"), "node_id: n1\nrole: worker\n");
        await Deno.writeTextFile(join(etc, "conf.d/extra.conf"), "x=1\n");
        await Deno.chmod(join(etc, "conf.d/extra.conf"), 0o600);
        const agentCli = (args: string[]) =>
          new Deno.Command(Deno.execPath(), {
            args: ["run", "--allow-all", join(ROOT, "agent/main.ts"), ...args],
            stdin: "null",
          }).output();
        const dec = new TextDecoder();
        const c = await agentCli(["cleanup", "--config", agentYml, "--journal-size", "500M"]);
        const cOut = dec.decode(c.stdout) + dec.decode(c.stderr);
        assert.match(cOut, /sync to S3: 2 file\(s\)/, cOut);
        const cfg = await rgw.bucket("fleet-configs");
        const keys: string[] = [];
        for await (const o of cfg.list("n1/")) keys.push(o.key);
        assert.ok(
          keys.includes("n1/node.yml") && keys.includes("n1/conf.d/extra.conf"),
          keys.join(","),
        );
        assert.ok(!keys.includes("n1/agent.yml"), "the node token never leaves the node");

        await Deno.remove(join(etc, "node.yml"));
        await Deno.remove(join(etc, "conf.d"), { recursive: true });
        const r = await agentCli([
          "recover",
          "--config",
          agentYml,
          "--attempts",
          "1",
          "--retry-delay",
          "1s",
        ]);
        const rOut = dec.decode(r.stdout) + dec.decode(r.stderr);
        assert.equal(r.code, 0, rOut);
        assert.equal(await Deno.readTextFile(join(etc, "node.yml")), "node_id: n1\nrole: worker\n");
        assert.equal((await Deno.stat(join(etc, "conf.d/extra.conf"))).mode! & 0o777, 0o600);
        const node = await api.node("n1");
        const step = node.recovery?.steps.find((s) => s.step === "configs from S3");
        assert.equal(step?.ok, true, step?.detail);
        assert.match(step!.detail, /2 file\(s\)/);
      });

      await t.step("a running backup can be cancelled; every backup write is audited", async () => {
        const big = join(dir, "bigtree3");
        await makeTree(big, 96);
        const [b] =
          (await api.createBackup({ nodes: ["n1"], targets: [{ kind: "path", path: big }] }))
            .backups;
        await waitFor(
          async () => (await api.backup(b.id)).progress !== null,
          "progress",
          60_000,
          20,
        );
        const cancelled = await api.cancelBackup(b.id);
        assert.equal(cancelled.state, "cancelled");
        assert.equal(cancelled.snapshot_id, null);
        await Deno.remove(big, { recursive: true });
        const actions = new Set(
          (await api.audit({ action: "backup.", limit: 500 })).entries.map((e) => e.action),
        );
        for (
          const a of [
            "backup.create",
            "backup.cancel",
            "backup.restore",
            "backup.restore.plan",
            "backup.verify",
            "backup.prune",
            "backup.hub_db",
            "backup.configs.push",
          ]
        ) assert.ok(actions.has(a), `no ${a} in the audit log (${[...actions].join(", ")})`);
        // Neither the hub's nor the agent's log ever carried a key.
        const logs = [...hub!.child.stdout, ...hub!.child.stderr, ...agent.stdout, ...agent.stderr]
          .join("\n");
        assert.ok(logs.length > 0);
        for (const secret of [rgw.secretKey, rgw.accessKey, "a key the repository never had"]) {
          assert.ok(!logs.includes(secret), "a key reached a log");
        }
      });

      await t.step(
        "schedules run from fleet.yml; retention keeps the newest per node and target",
        async () => {
          const schedule = (cron: string) =>
            `  schedules:\n    - name: every2s\n      cron: "${cron}"\n      nodes: [n1]\n` +
            `      targets: [{ kind: path, path: ${
              JSON.stringify(tree)
            } }]\n      keep: { last: 2 }\n` +
            `  hub_db:\n    cron: "${cron}"\n    keep: { last: 1 }\n`;
          await Deno.writeTextFile(configFile, fleetYml(s3Of(rgw), schedule("*/2 * * * * *")));
          await api.request("POST", "/api/v1/config/reload");
          const status = await api.backupStatus();
          assert.equal(status.schedules[0]?.name, "every2s");
          assert.ok(status.schedules[0].next_at! > Date.now() - 1000);
          assert.ok(status.hub_db.next_at !== null);
          await waitFor(
            async () => {
              const r = await api.backups({ limit: 200 });
              return r.backups.filter((b) => b.schedule === "every2s" && b.state === "done")
                .length >= 3;
            },
            "three scheduled backups",
            40_000,
            250,
          );
          // Quiet from here on (the schedule stays for its retention).
          await Deno.writeTextFile(configFile, fleetYml(s3Of(rgw), schedule("0 0 1 1 *")));
          await api.request("POST", "/api/v1/config/reload");
          await waitFor(
            async () =>
              (await api.backups({ limit: 200 })).backups.every((b) => b.state !== "running"),
            "quiet",
          );
          const hubDbAudit = await api.audit({ action: "backup.hub_db", actor: "schedule:hub-db" });
          assert.ok(hubDbAudit.entries.length >= 1, "the hub database ran on its schedule");

          const pruned = await api.pruneBackups();
          assert.ok(pruned.removed >= 1, JSON.stringify(pruned));
          const repo = {
            s3: rgw.config("fleet-backups"),
            prefix: "nodes",
          };
          const left = await listSnapshots(repo, { node: "n1", target: `path:${tree}` });
          assert.equal(left.length, 2);
          const rows = (await api.backups({ node: "n1", limit: 500 })).backups.filter((b) =>
            b.target_label === `path:${tree}`
          );
          const good = rows.filter((b) => b.state === "done");
          assert.deepEqual(good.map((b) => b.snapshot_id).sort(), left.map((x) => x.id).sort());
          assert.ok(rows.some((b) => b.state === "pruned"));
          for (const g of good) assert.equal((await api.verifyBackup(g.id)).ok, true);
          await Deno.writeTextFile(configFile, fleetYml(s3Of(rgw)));
          await api.request("POST", "/api/v1/config/reload");
        },
      );

      await t.step(
        "MCP: the backup tools list, create, restore (destructive) and verify",
        async () => {
          const client = new Client({ name: "backup-test", version: "1" });
          await client.connect(
            new StreamableHTTPClientTransport(new URL(`${hub!.url}/mcp`), {
              requestInit: { headers: { authorization: `Bearer ${hub!.adminToken}` } },
            }),
          );
          try {
            const tools = (await client.listTools()).tools as Tool[];
            const byName = new Map(tools.map((x) => [x.name, x]));
            for (
              const n of [
                "fleet_backup_create",
                "fleet_backup_list",
                "fleet_backup_restore",
                "fleet_backup_verify",
              ]
            ) {
              assert.ok(byName.has(n), n);
            }
            assert.equal(byName.get("fleet_backup_restore")!.annotations?.destructiveHint, true);
            assert.equal(byName.get("fleet_backup_list")!.annotations?.readOnlyHint, true);
            // A whole cluster: one backup per member node.
            const made = await client.callTool({
              name: "fleet_backup_create",
              arguments: { cluster: "lab", targets: [{ kind: "path", path: tree }], wait_s: 60 },
            });
            const created = made.structuredContent as {
              backups: { id: string; state: string; node_id: string }[];
            };
            assert.deepEqual(
              created.backups.map((b) => [b.node_id, b.state]).sort(),
              [["n1", "done"], ["n2", "done"]],
              JSON.stringify(made.content),
            );
            const id = created.backups.find((b) => b.node_id === "n1")!.id;
            const listed = await client.callTool({
              name: "fleet_backup_list",
              arguments: { good: true },
            });
            assert.ok(
              (listed.structuredContent as { backups: { id: string }[] }).backups.some((b) =>
                b.id === id
              ),
            );
            const out = join(dir, "mcp-restore");
            const restored = await client.callTool({
              name: "fleet_backup_restore",
              arguments: { backup_id: id, to: out, paths: ["hello.txt"] },
            });
            assert.equal((restored.structuredContent as { state: string }).state, "done");
            assert.equal(await Deno.readTextFile(join(out, "hello.txt")), "hello fleet\n");
            const verified = await client.callTool({
              name: "fleet_backup_verify",
              arguments: { backup_id: id },
            });
            assert.equal((verified.structuredContent as { ok: boolean }).ok, true);
            const audit = await api.audit({ action: "backup.restore" });
            assert.equal((audit.entries[0].detail as { via?: string } | null)?.via, "mcp");
          } finally {
            await client.close();
          }
        },
      );

      await t.step({
        name: "a Docker volume is backed up and restored on a real dockerd",
        ignore: DOCKER_MISSING.length > 0 && !CI,
        fn: async () => {
          const engine = await startDockerd();
          // A swarm of its own on a free loopback port (2377 may be another engine's).
          const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
          const swarmAddr = `127.0.0.1:${(free.addr as Deno.NetAddr).port}`;
          free.close();
          await engine.docker(
            "swarm",
            "init",
            "--advertise-addr",
            swarmAddr,
            "--listen-addr",
            swarmAddr,
          );
          // How this test's engine is stopped and started around a swarm state copy (systemctl
          // on a real node).
          const e = engine.dir;
          await Deno.writeTextFile(
            join(e, "engine-stop.sh"),
            `p=$(cat ${e}/docker.pid); kill "$p"\nfor i in $(seq 1 150); do kill -0 "$p" 2>/dev/null || exit 0; sleep 0.1; done\nexit 1\n`,
          );
          await Deno.writeTextFile(
            join(e, "engine-start.sh"),
            `export DOCKER_HOST=unix://${e}/docker.sock\n` +
              `dockerd --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none ` +
              `--data-root=${e}/data --exec-root=${e}/exec -H $DOCKER_HOST --pidfile ${e}/docker.pid ` +
              `>>${e}/dockerd.log 2>&1 </dev/null &\n` +
              `for i in $(seq 1 150); do docker info >/dev/null 2>&1 && exit 0; sleep 0.2; done\nexit 1\n`,
          );
          const vtoken = (await api.createToken({ kind: "node", node_id: "d1" })).token;
          const dagent = startAgent({
            hub: hub!.url,
            token: vtoken,
            stateDir: join(dir, "d1"),
            args: [...agentArgs, "--docker-socket", engine.socket],
            env: {
              FLEET_SWARM_STOP_CMD: `bash ${e}/engine-stop.sh`,
              FLEET_SWARM_START_CMD: `bash ${e}/engine-start.sh`,
            },
          });
          children.push(dagent);
          try {
            await engine.docker("volume", "create", "appdata");
            await engine.docker(
              "run",
              "--rm",
              "--network",
              "none",
              "-v",
              "appdata:/data",
              engine.image,
              "sh",
              "-c",
              "echo precious > /data/state.txt && mkdir /data/d && echo 2 > /data/d/two",
            );
            await waitControl(api, "d1");
            const [b] = (await api.createBackup({
              nodes: ["d1"],
              targets: [{ kind: "volume", name: "appdata" }],
            })).backups;
            const done = await settled(api, b.id);
            assert.equal(done.state, "done", done.error ?? "");
            assert.equal(done.target_label, "volume:appdata");
            await engine.docker("volume", "rm", "appdata");
            const started = await api.restoreBackup(b.id, {});
            const r = await waitFor(
              async () => {
                const x = await api.restore(started.id);
                return x.state === "running" ? undefined : x;
              },
              "volume restore",
              60_000,
            );
            assert.equal(r.state, "done", r.error ?? "");
            const out = await engine.docker(
              "run",
              "--rm",
              "--network",
              "none",
              "-v",
              "appdata:/data",
              engine.image,
              "cat",
              "/data/state.txt",
              "/data/d/two",
            );
            assert.equal(out.trim(), "precious\n2");
            // The swarm state of a manager: copied with the engine stopped, which then runs again.
            const [sw] = (await api.createBackup({ nodes: ["d1"], targets: [{ kind: "swarm" }] }))
              .backups;
            const swarm = await settled(api, sw.id, 120_000);
            assert.equal(swarm.state, "done", swarm.error ?? "");
            assert.equal(
              (await engine.docker("info", "--format", "{{.Swarm.LocalNodeState}}")).trim(),
              "active",
            );
            const top = (await api.backupTree(sw.id)).entries.map((x) => x.path);
            assert.ok(top.includes("raft") && top.includes("certificates"), top.join(","));
            await assert.rejects(api.restoreBackup(sw.id, {}), /another directory/);
            const copy = join(dir, "swarm-copy");
            const rs = await api.restoreBackup(sw.id, { to: copy });
            const rsDone = await waitFor(
              async () => {
                const x = await api.restore(rs.id);
                return x.state === "running" ? undefined : x;
              },
              "swarm restore",
              60_000,
            );
            assert.equal(rsDone.state, "done", rsDone.error ?? "");
            assert.ok((await Deno.stat(join(copy, "raft"))).isDirectory);
            // An engine in no swarm holds no swarm state: refused, by name.
            await engine.docker("swarm", "leave", "--force");
            const [sw2] = (await api.createBackup({ nodes: ["d1"], targets: [{ kind: "swarm" }] }))
              .backups;
            const refused = await settled(api, sw2.id);
            assert.equal(refused.state, "failed");
            assert.match(refused.error ?? "", /not a swarm manager/);
            // A volume on a node whose agent has no Docker: refused before anything runs.
            const [nv] = (await api.createBackup({
              nodes: ["n1"],
              targets: [{ kind: "volume", name: "appdata" }],
            })).backups;
            assert.equal(nv.state, "failed");
            assert.match(nv.error ?? "", /need Docker/);
          } finally {
            await dagent.stop();
            await engine.stop();
          }
        },
      });
    } finally {
      for (const c of children) await c.stop("SIGKILL").catch(() => {});
      await hub?.stop();
      await rgw.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
