/**
 * MCP tools of backups: start (and follow) backups of nodes, list them, restore one (destructive:
 * it overwrites files on a node), verify one. Each calls the hub's API, so each is audited there.
 *
 * @module
 */
import { z } from "zod";
import type { ApiClient } from "../../shared/api_client.ts";
import type { BackupInfo } from "../../shared/protocol/mod.ts";
import { BackupTarget } from "../../shared/protocol/mod.ts";
import type { AddTool } from "./server.ts";
import { S3_UNCONFIGURED } from "../backups/repository.ts";

const Backup = z.looseObject({
  id: z.string(),
  node_id: z.string(),
  target_label: z.string(),
  state: z.string().describe("running, done (good), partial, failed, cancelled, interrupted"),
  size_b: z.number().nullable(),
  new_b: z.number().nullable(),
  duration_ms: z.number().nullable(),
  error: z.string().nullable(),
});

function row(b: BackupInfo) {
  return {
    id: b.id,
    node_id: b.node_id,
    target_label: b.target_label,
    state: b.state,
    snapshot_id: b.snapshot_id,
    started_at: b.started_at,
    size_b: b.size_b,
    new_b: b.new_b,
    duration_ms: b.duration_ms,
    files: b.files,
    error: b.error,
  };
}

async function pause(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Registers the backup tools. */
export function registerBackupTools(add: AddTool, api: ApiClient): void {
  add({
    name: "fleet_backup_create",
    title: "Back up nodes to S3",
    description: "Backs up targets (a Docker volume, a config path, the swarm state, any path; " +
      "default /etc/fleet) of some nodes, a cluster or every node to the S3 repository " +
      "(incremental: only new chunks upload). Waits up to wait_s and reports each backup's " +
      "state, size and uploaded bytes. Audited.",
    input: {
      nodes: z.array(z.string().min(1).max(64)).min(1).max(1000).optional().describe(
        "node ids (give nodes, cluster or all)",
      ),
      cluster: z.string().max(64).optional(),
      all: z.boolean().optional().describe("every node of the fleet"),
      targets: z.array(BackupTarget).min(1).max(16).optional().describe(
        'what to copy, e.g. [{"kind":"volume","name":"pgdata"}]; default config /etc/fleet',
      ),
      note: z.string().max(256).optional(),
      wait_s: z.number().min(0).max(600).default(60),
    },
    output: { backups: z.array(Backup) },
    readOnly: false,
    run: async ({ nodes, cluster, all, targets, note, wait_s }, ctx) => {
      const created = await api.createBackup({
        ...(all ? { all: true as const } : cluster ? { cluster } : { nodes }),
        ...(targets ? { targets } : {}),
        ...(note ? { note } : {}),
      });
      let rows = created.backups;
      const deadline = Date.now() + wait_s * 1000;
      while (rows.some((b) => b.state === "running") && Date.now() < deadline) {
        await pause(Math.min(500, Math.max(0, deadline - Date.now())));
        rows = await Promise.all(rows.map((b) => api.backup(b.id)));
        const done = rows.filter((b) => b.state !== "running").length;
        await ctx.progress(done, rows.length, `${done} of ${rows.length} backups ended`);
      }
      const counts = new Map<string, number>();
      for (const b of rows) counts.set(b.state, (counts.get(b.state) ?? 0) + 1);
      return {
        summary: `${rows.length} backup(s): ` +
          [...counts].map(([s, n]) => `${n} ${s}`).join(", ") +
          rows.filter((b) => b.error).map((b) => `; ${b.node_id} ${b.target_label}: ${b.error}`)
            .join(""),
        data: { backups: rows.map(row) },
      };
    },
  });

  add({
    name: "fleet_backup_list",
    title: "List backups",
    description: "Backups newest first, with state (only 'done' is a good backup), size, new " +
      "bytes uploaded and duration; filter by node or to good ones.",
    input: {
      node: z.string().max(64).optional(),
      good: z.boolean().optional().describe("only good (done) backups"),
      limit: z.number().int().min(1).max(500).default(50),
    },
    output: { backups: z.array(Backup) },
    readOnly: true,
    run: async ({ node, good, limit }) => {
      const status = await api.backupStatus();
      if (!status.configured) {
        return { summary: `no backups: ${S3_UNCONFIGURED}`, data: { backups: [] } };
      }
      const r = await api.backups({ node, good, limit });
      return {
        summary: `${r.backups.length} backup(s)` +
          (r.backups[0]
            ? `; newest: ${r.backups[0].node_id} ${r.backups[0].target_label} ` +
              `${r.backups[0].state}`
            : ""),
        data: { backups: r.backups.map(row) },
      };
    },
  });

  add({
    name: "fleet_backup_restore",
    title: "Restore a backup onto a node",
    description: "Restores a good backup (or some paths of it) into its original place or " +
      "another directory, on its own node or another one. Overwrites files there: run with " +
      "dry_run first to see what would be written. Never writes outside the target directory. " +
      "Audited.",
    input: {
      backup_id: z.string().regex(/^[0-9]{1,15}$/),
      node: z.string().max(64).optional().describe("restore on this node (default: its own)"),
      to: z.string().max(1024).optional().describe("absolute directory (default: original)"),
      paths: z.array(z.string().min(1).max(4096)).max(1000).optional(),
      dry_run: z.boolean().default(false),
      wait_s: z.number().min(0).max(600).default(120),
    },
    output: {
      restore_id: z.string(),
      state: z.string(),
      node_id: z.string(),
      to: z.string(),
      files: z.number().nullable(),
      bytes: z.number().nullable(),
      written: z.array(z.string()),
      error: z.string().nullable(),
    },
    readOnly: false,
    destructive: true,
    run: async ({ backup_id, node, to, paths, dry_run, wait_s }) => {
      let r = await api.restoreBackup(backup_id, {
        ...(node ? { node } : {}),
        ...(to ? { to } : {}),
        ...(paths ? { paths } : {}),
        dry_run,
      });
      const deadline = Date.now() + wait_s * 1000;
      while (r.state === "running" && Date.now() < deadline) {
        await pause(500);
        r = await api.restore(r.id);
      }
      return {
        summary: `restore ${r.id} of backup ${backup_id} on ${r.node_id} into ${r.to}: ` +
          `${r.state}${dry_run ? " (dry run)" : ""}, ${r.files ?? 0} files` +
          (r.error ? `: ${r.error}` : ""),
        data: {
          restore_id: r.id,
          state: r.state,
          node_id: r.node_id,
          to: r.to,
          files: r.files,
          bytes: r.bytes,
          written: r.written.slice(0, 200),
          error: r.error,
        },
      };
    },
  });

  add({
    name: "fleet_backup_verify",
    title: "Verify a backup",
    description: "Checks that every chunk of a backup's snapshot is in the bucket; read_data " +
      "(0–1) also downloads and re-hashes that share of them. The result is stored on the " +
      "backup. Audited.",
    input: {
      backup_id: z.string().regex(/^[0-9]{1,15}$/),
      read_data: z.number().min(0).max(1).default(0),
    },
    output: {
      backup_id: z.string(),
      ok: z.boolean(),
      chunks: z.number(),
      missing: z.number(),
      corrupt: z.number(),
      detail: z.string(),
    },
    readOnly: false,
    idempotent: true,
    run: async ({ backup_id, read_data }) => {
      const r = await api.verifyBackup(backup_id, read_data);
      return {
        summary: `backup ${backup_id}: ${r.ok ? "ok" : "FAILED"}: ${r.detail}`,
        data: {
          backup_id: r.backup_id,
          ok: r.ok,
          chunks: r.chunks,
          missing: r.missing,
          corrupt: r.corrupt,
          detail: r.detail,
        },
      };
    },
  });
}
