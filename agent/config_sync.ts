/**
 * The node's config directory (`/etc/fleet`, the directory of the agent's config file) in the
 * configs bucket, through the hub (`PUT`/`GET /api/v1/agent/configs` with the node token; the
 * hub holds the S3 keys and files them under `fleet-configs/<node id>/`). `fleet-agent cleanup`
 * pushes it first, `fleet-agent recover` pulls it back. The agent's own config file holds its
 * node token and never leaves the node; a pull never replaces it, never writes through a
 * symlink and never outside the directory.
 *
 * @module
 */
import { basename, dirname, join, relative } from "node:path";
import { ApiClient, ApiError } from "../shared/api_client.ts";
import { z } from "zod";
import { ConfigFile } from "../shared/protocol/mod.ts";

/** The hub's answer to a pull, checked before anything is written. */
const PullAnswer = z.object({ files: z.array(ConfigFile).max(1000), where: z.string().max(1024) });
import { DEFAULT_AGENT_CONFIG } from "./config.ts";
import { fromBase64, toBase64 } from "../shared/base64.ts";

/** Most files and bytes synced (configs are small; the hub's body limit bounds a push). */
const MAX_FILES = 1000;
const MAX_BYTES = 1_200_000;

/** The directory synced: where the agent's config file lives. */
export function configDir(configFile: string | null): string {
  return dirname(configFile ?? DEFAULT_AGENT_CONFIG);
}

async function collect(dir: string, skip: string): Promise<ConfigFile[]> {
  const files: ConfigFile[] = [];
  let total = 0;
  const walk = async (d: string, depth: number) => {
    if (depth > 8) return;
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isSymlink) continue;
      if (e.isDirectory) {
        await walk(p, depth + 1);
        continue;
      }
      if (!e.isFile || p === skip) continue;
      const st = await Deno.stat(p);
      if (total + st.size > MAX_BYTES || files.length >= MAX_FILES) {
        throw new Error(`${dir} holds more than ${MAX_FILES} files or ${MAX_BYTES} bytes`);
      }
      const data = await Deno.readFile(p);
      total += data.length;
      files.push({
        path: relative(dir, p),
        mode: (st.mode ?? 0o644) & 0o7777,
        data: toBase64(data),
      });
    }
  };
  await walk(dir, 0);
  return files;
}

/** Whether the hub said S3 is not configured (then syncing is skipped, not failed). */
function noS3(error: unknown): boolean {
  return error instanceof ApiError && error.status === 503 &&
    /S3 is not configured/.test(error.message);
}

/** Pushes the config directory; resolves with a line for the operator. */
export async function pushConfigs(
  api: ApiClient,
  configFile: string | null,
): Promise<{ ok: boolean; skipped: boolean; detail: string }> {
  const dir = configDir(configFile);
  const own = configFile ?? DEFAULT_AGENT_CONFIG;
  try {
    const files = await collect(dir, own);
    const r = await api.pushConfigs(files);
    return {
      ok: true,
      skipped: false,
      detail: `${r.files} file(s) of ${dir} saved to ${r.where} (${basename(own)} stays local)`,
    };
  } catch (error) {
    if (noS3(error)) {
      return { ok: true, skipped: true, detail: "S3 is not configured on the hub: skipped" };
    }
    return { ok: false, skipped: false, detail: `${dir}: ${(error as Error).message}` };
  }
}

/** Pulls the node's files into the config directory; resolves with a line for the operator. */
export async function pullConfigs(
  api: ApiClient,
  configFile: string | null,
): Promise<{ ok: boolean; skipped: boolean; detail: string }> {
  const dir = configDir(configFile);
  const own = configFile ?? DEFAULT_AGENT_CONFIG;
  let answer;
  try {
    const parsed = PullAnswer.safeParse(await api.pullConfigs());
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return {
        ok: false,
        skipped: false,
        detail: `the hub's answer was refused: ${issue.path.join(".")}: ${issue.message}`,
      };
    }
    answer = parsed.data;
  } catch (error) {
    if (noS3(error)) {
      return { ok: true, skipped: true, detail: "S3 is not configured on the hub: skipped" };
    }
    return { ok: false, skipped: false, detail: (error as Error).message };
  }
  const written: string[] = [];
  const refused: string[] = [];
  for (const f of answer.files) {
    const dest = join(dir, f.path);
    if (relative(dir, dest).startsWith("..") || dest === own) {
      refused.push(f.path);
      continue;
    }
    // Never write through a symlink (in the file's place or any directory above it).
    let unsafe = false;
    for (let p = dest; p !== dir && p.length > dir.length; p = dirname(p)) {
      const st = await Deno.lstat(p).catch(() => undefined);
      if (st?.isSymlink) unsafe = true;
    }
    if (unsafe) {
      refused.push(f.path);
      continue;
    }
    await Deno.mkdir(dirname(dest), { recursive: true, mode: 0o755 });
    const tmp = `${dest}.fleet-tmp`;
    await Deno.writeFile(tmp, fromBase64(f.data), { mode: f.mode });
    await Deno.chmod(tmp, f.mode);
    await Deno.rename(tmp, dest);
    written.push(f.path);
  }
  if (!answer.files.length) {
    return { ok: true, skipped: false, detail: `nothing saved for this node in ${answer.where}` };
  }
  return {
    ok: refused.length === 0,
    skipped: false,
    detail: `${written.length} file(s) from ${answer.where} into ${dir}` +
      (refused.length ? `; refused ${refused.join(", ")}` : ""),
  };
}

/** A client from the config (for `cleanup`, which may run without one). */
export function configApi(hub: string, token: string): ApiClient {
  return new ApiClient({ hub, token, timeoutMs: 30_000 });
}
