/**
 * `fleet-hub backup …` (over the hub's HTTP API, like `job`) and `fleet-hub restore-db` (offline:
 * S3 → an empty data dir). `create` and `restore` follow their runs with a progress bar on a
 * terminal and a final line per backup elsewhere; a failed backup exits 1 with its error.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { BackupInfo, BackupTarget, RestoreInfo } from "../../shared/protocol/mod.ts";
import { BackupTarget as TargetSchema } from "../../shared/protocol/mod.ts";
import type { ApiClient } from "../../shared/api_client.ts";
import { EXIT_CODES_HELP, RefusedError, UsageError } from "../../shared/cli.ts";
import { humanBytes } from "../../agent/node_cleanup.ts";
import { sleep } from "../../shared/backoff.ts";
import { call, client, table } from "./client.ts";
import { loadHubConfig } from "../core/config.ts";
import { restoreHubDb } from "../backups/hub_db.ts";
import { failureMessage, S3_UNCONFIGURED } from "../backups/repository.ts";

/** Help of `backup`. */
export const BACKUP_HELP = `Usage: fleet-hub backup <command>

Commands:
  create (--all | --node N... | --cluster C)
         [--config [PATH]] [--volume NAME]... [--path PATH]... [--swarm] [--note TEXT]
         [--no-wait]                 back up targets (default: --config /etc/fleet) to S3;
                                     follows progress until every backup ends
  list [--node N] [--good] [--state S] [--limit N]
  show ID                            one backup (size, new bytes, duration, error)
  tree ID [--path DIR] [--recursive] the snapshot's files
  restore ID [--node N] [--to DIR] [--path P]... [--dry-run]
                                     restore into the original place or DIR, on its own node
                                     or N; --dry-run lists what would be written
  verify ID [--read-data SHARE]      check the chunks exist (and re-hash SHARE of them, 0-1)
  cancel ID                          stop a running backup
  hub-db                             snapshot the hub's own database to S3 now
  prune                              apply every schedule's retention, then drop orphan chunks

Connection (every command):
  --hub URL        hub address     [env FLEET_HUB, default http://127.0.0.1:8765]
  --token T        admin token     [env FLEET_TOKEN, default: <data-dir>/admin.token]
  --data-dir DIR   where admin.token is looked up [env FLEET_DATA_DIR, default ./data]
  --json           print JSON instead of a table

${EXIT_CODES_HELP}
`;

/** Help of `restore-db`. */
export const RESTORE_DB_HELP =
  `Usage: fleet-hub restore-db --from s3://BUCKET/PREFIX[/SNAPSHOT] --data-dir DIR
                           [--config fleet.yml]

Brings the hub database back from its S3 snapshot (the newest, or SNAPSHOT) into DIR, which must
not hold a database yet. S3 keys come from fleet.yml (s3:) or FLEET_S3_* (and FLEET_BACKUP_KEY).
Then start the hub with --data-dir DIR.

${EXIT_CODES_HELP}
`;

const COMMON = {
  hub: { type: "string" },
  token: { type: "string" },
  "data-dir": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function dur(ms: number | null): string {
  if (ms === null) return "-";
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

function bytes(b: number | null): string {
  return b === null ? "-" : humanBytes(b);
}

/** One progress line: bar, bytes, chunks, rate and ETA. */
export function progressLine(label: string, b: BackupInfo | RestoreInfo): string {
  const p = b.progress;
  if (!p) return `${label}  ${b.state}`;
  const total = p.total_bytes ?? 0;
  const share = total > 0 ? Math.min(1, p.bytes / total) : 0;
  const width = 24;
  const filled = Math.round(share * width);
  const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
  const eta = p.eta_s === null ? "" : ` eta ${Math.round(p.eta_s)}s`;
  return `${label} ${bar} ${Math.round(share * 100)}% ${humanBytes(p.bytes)}` +
    `${total ? `/${humanBytes(total)}` : ""} ${p.files} files, chunks ${p.chunks_new} new ` +
    `${p.chunks_reused} reused, ${humanBytes(p.rate_bps)}/s${eta}`;
}

function parseTargets(v: Record<string, unknown>): BackupTarget[] {
  const targets: BackupTarget[] = [];
  for (const name of (v.volume as string[] | undefined) ?? []) {
    targets.push({ kind: "volume", name });
  }
  for (const path of (v.path as string[] | undefined) ?? []) targets.push({ kind: "path", path });
  if (v.config !== undefined) {
    const path = (v.config as string) || "/etc/fleet";
    targets.push({ kind: "config", path });
  }
  if (v.swarm) targets.push({ kind: "swarm" });
  if (!targets.length) targets.push({ kind: "config", path: "/etc/fleet" });
  targets.forEach((t, i) => {
    const r = TargetSchema.safeParse(t);
    if (!r.success) throw new UsageError(`target ${i + 1}: ${r.error.issues[0].message}`);
  });
  return targets;
}

/** Follows backups until each has ended; redraws progress on a terminal. */
async function follow(api: ApiClient, ids: string[], json: boolean): Promise<BackupInfo[]> {
  const tty = Deno.stdout.isTerminal() && !json;
  const enc = new TextEncoder();
  let drawn = 0;
  let rows: BackupInfo[] = [];
  // Bounded: a day of polling at 500 ms; a backup that long is followed in the UI instead.
  for (let i = 0; i < 172_800; i++) {
    rows = await Promise.all(ids.map((id) => call(api, () => api.backup(id))));
    if (tty) {
      const lines = rows.map((b) => progressLine(`${b.node_id} ${b.target_label}`, b));
      const up = drawn ? `\x1b[${drawn}A` : "";
      Deno.stdout.writeSync(enc.encode(up + lines.map((l) => `\x1b[2K${l}\n`).join("")));
      drawn = lines.length;
    }
    if (rows.every((b) => b.state !== "running")) break;
    await sleep(500);
  }
  return rows;
}

function printBackups(rows: BackupInfo[]): void {
  console.log(table([
    ["ID", "NODE", "TARGET", "STATE", "SIZE", "NEW", "DURATION", "STARTED", "ERROR"],
    ...rows.map((b) => [
      b.id,
      b.node_id,
      b.target_label,
      b.state,
      bytes(b.size_b),
      bytes(b.new_b),
      dur(b.duration_ms),
      new Date(b.started_at).toISOString().slice(0, 19).replace("T", " "),
      (b.error ?? "").slice(0, 80),
    ]),
  ]));
}

/** `fleet-hub backup …`. */
export async function backupCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === "--help" || sub === "-h" || sub === "help") {
    console.log(BACKUP_HELP);
    return sub ? 0 : 2;
  }
  const { values: v, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      ...COMMON,
      all: { type: "boolean" },
      node: { type: "string", multiple: true },
      cluster: { type: "string" },
      config: { type: "string" },
      volume: { type: "string", multiple: true },
      path: { type: "string", multiple: true },
      swarm: { type: "boolean" },
      note: { type: "string" },
      "no-wait": { type: "boolean" },
      good: { type: "boolean" },
      state: { type: "string" },
      limit: { type: "string" },
      to: { type: "string" },
      "dry-run": { type: "boolean" },
      recursive: { type: "boolean" },
      "read-data": { type: "string" },
    },
  });
  if (v.help) {
    console.log(BACKUP_HELP);
    return 0;
  }
  const api = await client(v);
  const json = !!v.json;
  const id = positionals[0];
  const needId = () => {
    if (!id) throw new UsageError(`backup ${sub} needs a backup id (see 'backup list')`);
    return id;
  };
  // Without S3 no backup exists or can start: say so instead of an empty table or a late 503.
  const s3Missing = async () => !(await call(api, () => api.backupStatus())).configured;
  switch (sub) {
    case "create": {
      const sel = [v.all ? 1 : 0, v.node?.length ? 1 : 0, v.cluster ? 1 : 0].reduce((a, b) =>
        a + b
      );
      if (sel !== 1) throw new UsageError("give one of --all, --node N or --cluster C");
      const targets = parseTargets(v);
      if (await s3Missing()) throw new RefusedError(S3_UNCONFIGURED);
      const created = await call(api, () =>
        api.createBackup({
          ...(v.all
            ? { all: true as const }
            : v.cluster
            ? { cluster: v.cluster }
            : { nodes: v.node }),
          targets,
          ...(v.note ? { note: v.note } : {}),
        }));
      const started = created.backups;
      if (!json) {
        console.log(
          `started ${started.filter((b) => b.state === "running").length} of ${started.length} ` +
            `backup(s): ${started.map((b) => b.id).join(", ")}`,
        );
      }
      const rows = v["no-wait"] ? started : await follow(api, started.map((b) => b.id), json);
      if (json) console.log(JSON.stringify(rows, null, 2));
      else printBackups(rows);
      const bad = rows.filter((b) => b.state !== "done" && b.state !== "running");
      if (bad.length) {
        throw new RefusedError(
          `${bad.length} backup(s) did not complete: ` +
            bad.map((b) => `${b.node_id} ${b.target_label}: ${b.state}: ${b.error ?? ""}`).join(
              "; ",
            ),
        );
      }
      return 0;
    }
    case "list": {
      if (await s3Missing()) {
        if (json) console.log("[]");
        // On stderr under --json so the output stays parseable.
        (json ? console.error : console.log)(`no backups: ${S3_UNCONFIGURED}`);
        return 0;
      }
      const r = await call(api, () =>
        api.backups({
          node: v.node?.[0],
          good: v.good || undefined,
          state: v.state,
          limit: v.limit ? Number(v.limit) : undefined,
        }));
      if (json) console.log(JSON.stringify(r.backups, null, 2));
      else printBackups(r.backups);
      return 0;
    }
    case "show": {
      const b = await call(api, () => api.backup(needId()));
      if (json) console.log(JSON.stringify(b, null, 2));
      else {
        printBackups([b]);
        if (b.snapshot_id) console.log(`snapshot ${b.snapshot_id}`);
        for (const w of b.warnings) console.log(`  warning: ${w}`);
        if (b.verified_at) {
          console.log(
            `verified ${new Date(b.verified_at).toISOString()}: ${b.verify_ok ? "ok" : "FAILED"} ${
              b.verify_detail ?? ""
            }`,
          );
        }
      }
      return 0;
    }
    case "tree": {
      const t = await call(
        api,
        () => api.backupTree(needId(), { path: v.path?.[0], recursive: v.recursive || undefined }),
      );
      if (json) console.log(JSON.stringify(t, null, 2));
      else {
        for (const e of t.entries) {
          console.log(
            `${e.type === "dir" ? "d" : e.type === "symlink" ? "l" : "-"}${
              (e.mode & 0o777).toString(8).padStart(3, "0")
            } ${humanBytes(e.size).padStart(9)}  ${e.path}${e.target ? ` -> ${e.target}` : ""}`,
          );
        }
        if (t.truncated) console.log("… (truncated)");
      }
      return 0;
    }
    case "restore": {
      const dry = !!v["dry-run"];
      const started = await call(api, () =>
        api.restoreBackup(needId(), {
          ...(v.node?.[0] ? { node: v.node[0] } : {}),
          ...(v.to ? { to: v.to } : {}),
          ...(v.path?.length ? { paths: v.path } : {}),
          dry_run: dry,
        }));
      let r = started;
      const tty = Deno.stdout.isTerminal() && !json;
      for (let i = 0; i < 172_800 && r.state === "running"; i++) {
        await sleep(500);
        r = await call(api, () => api.restore(started.id));
        if (tty) {
          Deno.stdout.writeSync(
            new TextEncoder().encode(`\r\x1b[2K${progressLine(`restore ${r.id}`, r)}`),
          );
        }
      }
      if (tty) console.log();
      if (json) console.log(JSON.stringify(r, null, 2));
      else {
        console.log(
          `restore ${r.id} on ${r.node_id} into ${r.to}: ${r.state}${dry ? " (dry run)" : ""}, ` +
            `${r.files ?? 0} files, ${bytes(r.bytes)}`,
        );
        for (const w of r.written.slice(0, dry ? 1000 : 20)) {
          console.log(`  ${dry ? "would write" : "wrote"} ${w}`);
        }
      }
      if (r.state !== "done") {
        throw new RefusedError(`restore ${r.id} ${r.state}: ${r.error ?? ""}`);
      }
      return 0;
    }
    case "verify": {
      const share = v["read-data"] ? Number(v["read-data"]) : 0;
      if (!(share >= 0 && share <= 1)) throw new UsageError("--read-data: a share from 0 to 1");
      const r = await call(api, () => api.verifyBackup(needId(), share));
      if (json) console.log(JSON.stringify(r, null, 2));
      else console.log(`backup ${r.backup_id}: ${r.ok ? "ok" : "FAILED"}: ${r.detail}`);
      return r.ok ? 0 : 1;
    }
    case "cancel": {
      const b = await call(api, () => api.cancelBackup(needId()));
      console.log(`backup ${b.id}: ${b.state}`);
      return 0;
    }
    case "hub-db": {
      if (await s3Missing()) throw new RefusedError(S3_UNCONFIGURED);
      const r = await call(api, () => api.backupHubDb());
      if (json) console.log(JSON.stringify(r, null, 2));
      else {
        console.log(
          `hub database saved: ${r.key} (${humanBytes(r.size_b)}, ${dur(r.duration_ms)})`,
        );
        console.log(`restore with: fleet-hub restore-db --from ${r.key} --data-dir DIR`);
      }
      return 0;
    }
    case "prune": {
      const r = await call(api, () => api.pruneBackups());
      console.log(`${r.removed} snapshot(s) forgotten, ${r.chunks_deleted} chunk(s) deleted`);
      return 0;
    }
    default:
      throw new UsageError(`unknown backup command: ${sub}\n\n${BACKUP_HELP}`);
  }
}

/** `fleet-hub restore-db --from s3://… --data-dir D`. */
export async function restoreDbCommand(args: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: {
      from: { type: "string" },
      "data-dir": { type: "string" },
      config: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (v.help) {
    console.log(RESTORE_DB_HELP);
    return 0;
  }
  if (!v.from || !v["data-dir"]) {
    throw new UsageError(`--from and --data-dir are required\n\n${RESTORE_DB_HELP}`);
  }
  const config = await loadHubConfig(v.config ? { config: v.config } : {}, Deno.env.toObject());
  const s3 = config.backups?.s3;
  if (!s3) {
    throw new UsageError("S3 is not configured: set s3: in fleet.yml (--config) or FLEET_S3_*");
  }
  try {
    const r = await restoreHubDb(s3, v.from, v["data-dir"]);
    console.log(
      `restored the hub database (snapshot ${r.snapshot}${r.time ? ` of ${r.time}` : ""}, ` +
        `${humanBytes(r.bytes)}) into ${v["data-dir"]}\nstart it with: fleet-hub serve --data-dir ${
          v["data-dir"]
        }`,
    );
    return 0;
  } catch (error) {
    throw new RefusedError(`restore-db: ${failureMessage(error)}`);
  }
}
