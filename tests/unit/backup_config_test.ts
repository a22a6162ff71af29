/**
 * The backup parts of fleet.yml and `FLEET_S3_*`: env beats the file, half-configured S3 and bad
 * schedules are refused naming the key (and line), the example file's schedules parse, a
 * schedule's longest gap (what makes a card amber), the retention policy mapping, and the
 * control-channel frame's validation (a `..` path is refused).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadHubConfig } from "../../hub/core/config.ts";
import { cronIntervalMs, resolveBackupConfig } from "../../hub/backups/config.ts";
import { keepPolicy } from "../../hub/backups/service.ts";
import { parseS3Url } from "../../hub/backups/hub_db.ts";
import { ConfigError } from "../../shared/yaml_config.ts";
import { BackupCreate, BackupRequestMessage, RestoreRequest } from "../../shared/protocol/mod.ts";

async function load(yml: string, env: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "fleet-backup-config-" });
  try {
    const file = join(dir, "fleet.yml");
    await Deno.writeTextFile(file, yml);
    return await loadHubConfig({ config: file }, env);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("S3 settings: env beats the file; defaults for region, buckets, path style", async () => {
  const c = await load(
    "s3:\n  endpoint: http://minio:9000\n  access_key: AK\n  secret_key: SK\n  bucket: from-file\n",
    { FLEET_S3_BUCKET: "from-env", FLEET_BACKUP_KEY: "a passphrase of 16+" },
  );
  assert.deepEqual(c.backups!.s3, {
    endpoint: "http://minio:9000",
    region: "us-east-1",
    bucket: "from-env",
    configsBucket: "fleet-configs",
    accessKey: "AK",
    secretKey: "SK",
    pathStyle: true,
    encryptionKey: "a passphrase of 16+",
  });
  const none = await load("nodes: []\n");
  assert.equal(none.backups!.s3, null);
});

Deno.test("half-configured S3, a bad endpoint or a short key is refused by name", () => {
  assert.throws(
    () => resolveBackupConfig({ endpoint: "http://minio:9000" }, undefined, {}),
    (e) => e instanceof ConfigError && /access key.*secret key/.test(e.message),
  );
  assert.throws(
    () =>
      resolveBackupConfig(undefined, undefined, {
        FLEET_S3_ENDPOINT: "minio:9000",
        FLEET_S3_ACCESS_KEY: "a",
        FLEET_S3_SECRET_KEY: "b",
      }),
    (e) => e instanceof ConfigError && /not an http\(s\) URL/.test(e.message),
  );
  assert.throws(
    () =>
      resolveBackupConfig(
        { endpoint: "http://m:9000", access_key: "a", secret_key: "b" },
        undefined,
        { FLEET_BACKUP_KEY: "short" },
      ),
    (e) => e instanceof ConfigError && /16\+ characters/.test(e.message),
  );
});

Deno.test("schedules: a bad cron names its line; an unknown cluster and a repeated name are refused", async () => {
  await assert.rejects(
    load(
      'backups:\n  schedules:\n    - name: x\n      cron: "every night"\n      all: true\n      targets: [{ kind: config }]\n',
    ),
    (e) => e instanceof ConfigError && /:4/.test(e.message) && /cron/.test(e.message),
  );
  await assert.rejects(
    load(
      'backups:\n  schedules:\n    - name: x\n      cron: "0 3 * * *"\n      cluster: nope\n      targets: [{ kind: config }]\n',
    ),
    (e) => e instanceof ConfigError && /cluster nope/.test(e.message),
  );
  await assert.rejects(
    load(
      'backups:\n  schedules:\n    - name: x\n      cron: "0 3 * * *"\n      targets: [{ kind: config }]\n',
    ),
    (e) => e instanceof ConfigError && /one of nodes, cluster or all/.test(e.message),
  );
  const two =
    '    - name: x\n      cron: "0 3 * * *"\n      all: true\n      targets: [{ kind: swarm }]\n';
  await assert.rejects(load(`backups:\n  schedules:\n${two}${two}`), /listed twice/);
  const ok = await load(`backups:\n  schedules:\n${two}`);
  assert.deepEqual(ok.backups!.schedules[0].keep, { last: 7 });
});

Deno.test("the example file's schedules parse", async () => {
  const c = await loadHubConfig({
    config: new URL("../../fleet.example.yml", import.meta.url).pathname,
  }, {});
  assert.deepEqual(c.backups!.schedules.map((s) => s.name), ["configs-nightly", "vision-models"]);
  assert.deepEqual(c.backups!.schedules[0].targets, [{ kind: "config", path: "/etc/fleet" }]);
  assert.equal(c.backups!.hubDb?.cron, "15 * * * *");
});

Deno.test("a schedule's longest gap and the retention policy", () => {
  assert.equal(cronIntervalMs("0 3 * * *"), 86_400_000);
  assert.equal(cronIntervalMs("*/10 * * * *"), 600_000);
  assert.equal(cronIntervalMs("30 2 * * 0"), 7 * 86_400_000);
  assert.deepEqual(keepPolicy({ last: 3, monthly: 2 }), { keepLast: 3, keepMonthly: 2 });
  assert.deepEqual(keepPolicy({}), { keepLast: 1 });
});

Deno.test("requests and frames: selections, paths and s3:// URLs are checked", () => {
  assert.equal(BackupCreate.safeParse({ targets: [{ kind: "swarm" }] }).success, false);
  assert.equal(BackupCreate.safeParse({ all: true, nodes: ["a"] }).success, false);
  const def = BackupCreate.parse({ nodes: ["agx-01"] });
  assert.deepEqual(def.targets, [{ kind: "config", path: "/etc/fleet" }]);
  assert.equal(
    BackupCreate.safeParse({ all: true, targets: [{ kind: "path", path: "/a/../etc" }] }).success,
    false,
  );
  assert.equal(
    BackupCreate.safeParse({ all: true, targets: [{ kind: "path", path: "rel" }] }).success,
    false,
  );
  assert.equal(RestoreRequest.safeParse({ paths: ["../x"] }).success, false);
  assert.equal(RestoreRequest.safeParse({ paths: ["/abs"] }).success, false);
  assert.equal(RestoreRequest.safeParse({ to: "/srv/restore", paths: ["a/b"] }).success, true);
  const frame = {
    type: "backup",
    ch: 1,
    op: "restore",
    restore_id: "1",
    snapshot_id: "s",
    target: { kind: "config", path: "/etc/fleet" },
    to: "/tmp/x/../../etc",
    dry_run: false,
    s3: {
      endpoint: "http://m",
      region: "r",
      bucket: "b",
      access_key: "a",
      secret_key: "s",
      path_style: true,
    },
  };
  assert.equal(BackupRequestMessage.safeParse(frame).success, false);
  assert.equal(BackupRequestMessage.safeParse({ ...frame, to: "/tmp/x" }).success, true);
  assert.deepEqual(parseS3Url("s3://fleet-backups/hub"), {
    bucket: "fleet-backups",
    prefix: "hub",
  });
  assert.deepEqual(parseS3Url("s3://fleet-backups"), { bucket: "fleet-backups", prefix: "hub" });
  assert.deepEqual(parseS3Url("s3://fleet-backups/hub/20261206T012731Z-85399933"), {
    bucket: "fleet-backups",
    prefix: "hub",
    snapshot: "20261206T012731Z-85399933",
  });
  assert.throws(() => parseS3Url("http://x/y"), /s3:\/\/BUCKET/);
});
