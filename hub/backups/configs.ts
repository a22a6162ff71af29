/**
 * Node config files in the configs bucket (`fleet-configs/<node id>/…`): `fleet-agent cleanup`
 * pushes the node's `/etc/fleet` here first, `fleet-agent recover` pulls it back. The hub does
 * the S3 calls for the node (its node token names the folder), so the keys never leave the hub
 * for these small files. Modes are kept in `<node>/.fleet-modes.json` next to them.
 *
 * @module
 */
import { openS3, type S3Store } from "../../shared/s3.ts";
import type { ConfigFile } from "../../shared/protocol/mod.ts";
import type { Database } from "../core/db.ts";
import { recordAudit } from "../core/store.ts";
import type { NodePrincipal } from "../core/auth.ts";
import type { BackupConfig } from "./config.ts";
import { failureMessage, failureProblem, requireS3 } from "./repository.ts";
import { fromBase64, toBase64 } from "../../shared/base64.ts";

const MODES = ".fleet-modes.json";

/** Node config sync through the hub. */
export class NodeConfigs {
  #db: Database;
  #config: () => BackupConfig;

  constructor(db: Database, config: () => BackupConfig) {
    this.#db = db;
    this.#config = config;
  }

  #store(): S3Store {
    const s3 = requireS3(this.#config().s3);
    return openS3({
      endpoint: s3.endpoint,
      region: s3.region,
      bucket: s3.configsBucket,
      pathStyle: s3.pathStyle,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
    }, { retries: 2, timeoutMs: 30_000 });
  }

  /** Stores the node's files under `<node>/`; audited as the node. */
  async push(
    node: NodePrincipal,
    files: ConfigFile[],
  ): Promise<{ files: number; bytes: number; where: string }> {
    const store = this.#store();
    const prefix = `${node.node_id}/`;
    let bytes = 0;
    try {
      const modes: Record<string, number> = {};
      for (const f of files) {
        const data = fromBase64(f.data);
        bytes += data.length;
        await store.put(prefix + f.path, data);
        modes[f.path] = f.mode;
      }
      await store.put(prefix + MODES, new TextEncoder().encode(JSON.stringify(modes)));
    } catch (error) {
      await recordAudit(this.#db, {
        actor: node,
        action: "backup.configs.push",
        target: `${store.bucket}/${prefix}`,
        result: "error",
        detail: { error: failureMessage(error) },
      });
      throw failureProblem(error);
    }
    await recordAudit(this.#db, {
      actor: node,
      action: "backup.configs.push",
      target: `${store.bucket}/${prefix}`,
      result: "ok",
      detail: { files: files.length, bytes },
    });
    return { files: files.length, bytes, where: `s3://${store.bucket}/${prefix}` };
  }

  /** The node's files from `<node>/` (none when it never pushed). */
  async pull(node: NodePrincipal): Promise<{ files: ConfigFile[]; where: string }> {
    const store = this.#store();
    const prefix = `${node.node_id}/`;
    try {
      let modes: Record<string, number> = {};
      const files: ConfigFile[] = [];
      let total = 0;
      for await (const o of store.list(prefix)) {
        const rel = o.key.slice(prefix.length);
        if (!rel || rel.split("/").includes("..")) continue;
        const data = await store.get(o.key);
        if (rel === MODES) {
          modes = JSON.parse(new TextDecoder().decode(data));
          continue;
        }
        total += data.length;
        // The answer has to fit a response the agent reads at once; configs are small.
        if (total > 1_500_000 || files.length >= 1000) break;
        files.push({ path: rel, mode: 0o644, data: toBase64(data) });
      }
      for (const f of files) f.mode = (modes[f.path] ?? 0o644) & 0o7777;
      return { files, where: `s3://${store.bucket}/${prefix}` };
    } catch (error) {
      throw failureProblem(error);
    }
  }
}
