/**
 * Starts the real hub (`hub/main.ts serve`) as a subprocess on 127.0.0.1 with its own data dir
 * and a free port, and gives tests its URL and admin token.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Child } from "./process.ts";
import { ApiClient } from "../../shared/api_client.ts";
import { HUB_V8_FLAGS } from "../../shared/runtime_flags.ts";
import { HUB_PERMISSIONS } from "../../bootstrap/dist.ts";

/** Repository root. */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** A hub subprocess. */
export interface HubProcess {
  child: Child;
  url: string;
  port: number;
  dataDir: string;
  adminToken: string;
  /** An API client with the admin token. */
  admin: ApiClient;
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** Options of {@link startHub}. */
export interface StartHubOptions {
  dataDir?: string;
  port?: number;
  /** Extra `serve` flags, e.g. `["--degraded-after", "1s"]`. */
  args?: string[];
  env?: Record<string, string>;
  /** Extra Deno flags before the script (e.g. `--cpu-prof` for the bench profilers). */
  denoFlags?: string[];
}

/**
 * Starts a hub and waits until it listens (bounded).
 *
 * @example
 * ```ts
 * const hub = await startHub();
 * try { ... } finally { await hub.stop(); }
 * ```
 */
export async function startHub(options: StartHubOptions = {}): Promise<HubProcess> {
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "fleet-hub-" });
  const child = new Child(Deno.execPath(), [
    "run",
    // The compiled hub's permissions, not --allow-all: source and binary must behave the same.
    ...HUB_PERMISSIONS,
    `--v8-flags=${HUB_V8_FLAGS}`,
    ...(options.denoFlags ?? []),
    join(ROOT, "hub/main.ts"),
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    String(options.port ?? 0),
    "--data-dir",
    dataDir,
    ...(options.args ?? []),
  ], { env: options.env, cwd: dataDir });
  let line: string;
  try {
    line = await child.waitForLine((l) => l.includes('"msg":"listening"'), 60_000);
  } catch (error) {
    await child.stop("SIGKILL");
    throw error;
  }
  const port = JSON.parse(line).port as number;
  const adminToken = (await Deno.readTextFile(join(dataDir, "admin.token"))).trim();
  const url = `http://127.0.0.1:${port}`;
  return {
    child,
    url,
    port,
    dataDir,
    adminToken,
    admin: new ApiClient({ hub: url, token: adminToken }),
    stop: (signal) => child.stop(signal),
  };
}

/** Runs `hub/main.ts token …` on a data dir; returns stdout (trimmed) and the exit code. */
export async function hubCli(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...HUB_PERMISSIONS, join(ROOT, "hub/main.ts"), ...args],
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout).trim(),
    stderr: dec.decode(out.stderr).trim(),
  };
}

/**
 * Logs in as a browser does (`POST /api/v1/session`) and returns the session cookie's value
 * (a random session id, not the token).
 */
export async function loginCookie(hubUrl: string, token: string): Promise<string> {
  const res = await fetch(`${hubUrl}/api/v1/session`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: hubUrl },
    body: JSON.stringify({ token }),
  });
  await res.body?.cancel();
  if (res.status !== 200) throw new Error(`login refused: ${res.status}`);
  const m = /fleet_session=([^;]+)/.exec(res.headers.get("set-cookie") ?? "");
  if (!m) throw new Error("login set no session cookie");
  return m[1];
}
