/**
 * `deno task dist`: builds the release binaries with `deno compile` into `dist/`, one per target,
 * then writes `dist/SHA256SUMS` (the format `sha256sum -c` reads, which install.sh checks):
 *
 * | file                    | target                     | entry         |
 * | ----------------------- | -------------------------- | ------------- |
 * | fleet-hub-linux-amd64   | x86_64-unknown-linux-gnu   | hub/main.ts   |
 * | fleet-hub-linux-arm64   | aarch64-unknown-linux-gnu  | hub/main.ts   |
 * | fleet-agent-linux-arm64 | aarch64-unknown-linux-gnu  | agent/main.ts |
 * | fleet-agent-linux-amd64 | x86_64-unknown-linux-gnu   | agent/main.ts |
 *
 * The entry points are the files that `deno run` runs, compiled with type checking, the
 * lockfile frozen, the V8 flags of `shared/runtime_flags.ts` and the permissions below baked in.
 *
 * `deno compile` embeds the program into `denort`, a runtime it downloads per target from
 * dl.deno.land (cached in DENO_DIR afterwards). Where that host is unreachable, point it at a local
 * denort of this Deno version: `DENORT_BIN` (used for the targets of its own architecture, read from
 * its ELF header), or `DENORT_BIN_AMD64` / `DENORT_BIN_ARM64` per architecture. Without one, the
 * build stops with a message saying so, exit code 1.
 *
 * Usage: deno task dist [--target NAME]… [--out-dir DIR] [--no-run-check]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AGENT_V8_FLAGS, HUB_V8_FLAGS } from "../shared/runtime_flags.ts";
import { VERSION } from "../shared/version.ts";

/** CPU architecture of a build, as in the file names. */
export type Arch = "amd64" | "arm64";

/** One binary that `dist` builds. */
export interface Target {
  /** File name under dist/, e.g. `fleet-hub-linux-arm64`. */
  name: string;
  program: "fleet-hub" | "fleet-agent";
  arch: Arch;
  /** `deno compile --target` triple. */
  triple: string;
  /** Entry point, relative to the repository root. */
  entry: string;
  /** `--v8-flags` value baked into the binary. */
  v8Flags: string;
  /** Permission flags baked into the binary. */
  permissions: readonly string[];
  /** Modules `deno compile` embeds only when named (`--include`): Workers, lazily imported code. */
  include: readonly string[];
}

/**
 * fleet-hub's permissions. Measured against `serve` (also with `--demo`), `token`, `job`, `roamer`:
 * - `--allow-net`: the HTTP server, and (with the Swarm issue) the Engine API over the Docker unix
 *   socket, which Deno checks as net `unix:<path>` plus read of the path.
 * - `--allow-env`: settings come from `FLEET_*`, read through `Deno.env.toObject()`, which needs
 *   access to the whole environment.
 * - `--allow-read`, `--allow-write` without a path list: the data dir (SQLite file, WAL, admin
 *   token), the config file (`--config`, or ./fleet.yml when present) and the dist dir served under
 *   /dist/ are run-time settings (default ./data; /var/lib/fleet-hub under systemd). A path list
 *   baked in at build time would turn `--data-dir /srv/fleet` into a permission error.
 * - `--allow-run=docker`: swarm stacks go through the docker CLI (the Engine API has no stack
 *   deploy); nothing else is spawned.
 * - `--allow-sys=hostname,uid`: the hub DB's snapshots and a prune's repository lock name the
 *   host; `restore-db` restores file owners only when it runs as root.
 * - no other `--allow-sys` (`Deno.memoryUsage()` needs none), no `--allow-ffi` (node:sqlite is
 *   built in).
 * The tests start the hub from source with exactly these (`tests/helpers/hub.ts`), so a missing
 * one fails there as it would in the binary.
 */
export const HUB_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-run=docker",
  "--allow-sys=hostname,uid",
];

/**
 * fleet-agent's permissions: all of them, measured on Deno 2.9.6 rather than wished for:
 * - Deno requires *all* permissions to read anything under /proc and /sys (`Requires all access
 *   to "/proc/stat"`, even with `--allow-read` and every other flag unscoped), and those files are
 *   the agent's CPU, memory, network, disk I/O and temperature sources.
 * - It kills each job's whole process group (`process.kill(-pid)`), which needs `--allow-run`
 *   without a program list; and process jobs run `sh -c <command>` or any program a job names,
 *   so a list (tegrastats, nvidia-smi, systemctl, script, sh) would not hold anyway.
 * - Beyond those it reads /etc (agent.yml, os-release), writes /var/lib/fleet-agent (spool,
 *   job dirs), /etc/fleet and /etc/systemd/system (`fleet-agent install`), talks to the hub and
 *   the Docker socket (net + read of the socket), reads the whole environment (settings, and the
 *   env that node:child_process passes on) and asks the OS for its hostname and kernel release.
 * The agent runs as root under systemd on a node the fleet owns, executing the jobs it is sent:
 * Deno's sandbox cannot be the boundary there; the node token's scope on the hub is.
 */
export const AGENT_PERMISSIONS: readonly string[] = ["--allow-all"];

/**
 * The modules the agent loads with `lazyImport` (shared/lazy_import.ts): a URL built at run time,
 * which `deno compile` does not follow, so each is embedded by name. A unit test holds this list
 * to the calls in the source.
 */
export const AGENT_LAZY_MODULES: readonly string[] = [
  "agent/backup.ts",
  "agent/collect/docker.ts",
  "agent/collect/nvidia_smi.ts",
  "agent/collect/sysfs.ts",
  "agent/collect/tegrastats.ts",
  "agent/config_file.ts",
  "agent/config_sync.ts",
  "agent/containers.ts",
  "agent/exec.ts",
  "agent/install.ts",
  "agent/network/net_ops.ts",
  "agent/node_actions.ts",
  "agent/node_cleanup.ts",
  "agent/pty.ts",
  "agent/recover.ts",
  "agent/worker/docker.ts",
  "agent/worker/roamer.ts",
  "shared/control_frames.ts",
];

const TRIPLES: Record<Arch, string> = {
  amd64: "x86_64-unknown-linux-gnu",
  arm64: "aarch64-unknown-linux-gnu",
};

function target(program: Target["program"], arch: Arch): Target {
  const hub = program === "fleet-hub";
  return {
    name: `${program}-linux-${arch}`,
    program,
    arch,
    triple: TRIPLES[arch],
    entry: hub ? "hub/main.ts" : "agent/main.ts",
    v8Flags: hub ? HUB_V8_FLAGS : AGENT_V8_FLAGS,
    permissions: hub ? HUB_PERMISSIONS : AGENT_PERMISSIONS,
    include: hub ? ["hub/core/writer_worker.ts", "hub/fleet/parse_worker.ts"] : AGENT_LAZY_MODULES,
  };
}

/** Every target, in build order. */
export const TARGETS: readonly Target[] = [
  target("fleet-hub", "amd64"),
  target("fleet-hub", "arm64"),
  target("fleet-agent", "arm64"),
  target("fleet-agent", "amd64"),
];

/** The `deno compile` arguments for one target. */
export function compileArgs(t: Target, output: string): string[] {
  return [
    "compile",
    "--frozen",
    "--target",
    t.triple,
    "--output",
    output,
    `--v8-flags=${t.v8Flags}`,
    ...t.permissions,
    ...t.include.flatMap((file) => ["--include", file]),
    t.entry,
  ];
}

/** The architecture an ELF header names (e_machine), or undefined when `bytes` is not ELF. */
export function elfArch(bytes: Uint8Array): Arch | "other" | undefined {
  if (bytes.length < 20 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c) {
    return undefined;
  }
  if (bytes[3] !== 0x46) return undefined;
  const little = bytes[5] === 1;
  const machine = little ? bytes[18] | (bytes[19] << 8) : (bytes[18] << 8) | bytes[19];
  if (machine === 0x3e) return "amd64";
  if (machine === 0xb7) return "arm64";
  return "other";
}

/** What to hand `deno compile` as DENORT_BIN for a target: a path, nothing, or a reason to stop. */
export type DenortChoice = { path?: string; error?: string };

/**
 * Picks the denort for `t` from the environment: `DENORT_BIN_<ARCH>` first, then `DENORT_BIN`
 * when its ELF header names the target's architecture. Nothing set: deno compile downloads it.
 */
export function chooseDenort(t: Target, env: Record<string, string | undefined>): DenortChoice {
  const specific = `DENORT_BIN_${t.arch.toUpperCase()}`;
  const candidates: [string, string | undefined][] = [
    [specific, env[specific]],
    ["DENORT_BIN", env.DENORT_BIN],
  ];
  for (const [name, path] of candidates) {
    if (!path) continue;
    let head: Uint8Array;
    try {
      const file = Deno.openSync(path, { read: true });
      try {
        head = new Uint8Array(20);
        const n = file.readSync(head) ?? 0;
        head = head.subarray(0, n);
      } finally {
        file.close();
      }
    } catch (error) {
      return { error: `${name}=${path} cannot be read (${errorText(error)})` };
    }
    const arch = elfArch(head);
    if (arch === undefined) return { error: `${name}=${path} is not an ELF executable` };
    if (arch === t.arch) return { path };
    if (name === specific) {
      return { error: `${name}=${path} is built for ${arch}, not ${t.arch}` };
    }
    return {
      error: `DENORT_BIN=${path} is built for ${arch}; ${t.name} needs the ${t.arch} denort ` +
        `(denort-${t.triple}.zip): set ${specific}=/path/to/it, or build only ` +
        `--target ${TARGETS.filter((x) => x.arch === arch).map((x) => x.name).join(" --target ")}`,
    };
  }
  return {};
}

/** True when deno compile's error output is about fetching the denort runtime. */
export function isDenortDownloadFailure(stderr: string): boolean {
  return /dl\.deno\.land|denort-[\w-]+\.zip/.test(stderr) &&
    /error sending request|Setting up base binary|Download|connect|dns|timed out/i.test(stderr);
}

/** deno's error output without colours, and without the backtrace it appends. */
export function cleanDenoError(stderr: string): string {
  // deno-lint-ignore no-control-regex
  const plain = stderr.replace(/\x1b\[[0-9;]*m/g, "");
  const cut = plain.search(/^Stack backtrace:/m);
  return (cut >= 0 ? plain.slice(0, cut) : plain).trimEnd();
}

/** The innermost cause of a deno error ("4: failed to lookup address information: …"). */
function innermostCause(stderr: string): string | undefined {
  const causes = [...cleanDenoError(stderr).matchAll(/^\s*\d+: (.+)$/gm)].map((m) => m[1]);
  return causes.at(-1);
}

/** The message when deno compile could not download denort. */
export function denortMessage(t: Target, cause?: string): string {
  return [
    `deno compile needs the denort runtime for ${t.name} (denort-${t.triple}.zip of Deno ` +
    `${Deno.version.deno}), which it downloads from dl.deno.land; that host is unreachable from ` +
    `here${cause ? ` (${cause})` : ""}.`,
    `Set DENORT_BIN=/path/to/denort (that file, unzipped; DENORT_BIN_AMD64 / DENORT_BIN_ARM64 ` +
    `when building both architectures), or run \`deno task dist\` where dl.deno.land is reachable.`,
  ].join("\n");
}

/** One line of SHA256SUMS: `<hex>  <file>` (two spaces: binary-agnostic text mode). */
export function sha256sumsLine(hex: string, file: string): string {
  return `${hex}  ${file}`;
}

/** SHA-256 of a file, streamed (the binaries are ~80 MB). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Uint8Array);
  return hash.digest("hex");
}

/** Writes `dir/SHA256SUMS` for every fleet binary in `dir`; returns its lines. */
export async function writeSha256Sums(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && /^fleet-(hub|agent)-linux-(amd64|arm64)$/.test(e.name)) names.push(e.name);
  }
  names.sort();
  const lines: string[] = [];
  for (const name of names) lines.push(sha256sumsLine(await sha256File(join(dir, name)), name));
  const tmp = join(dir, "SHA256SUMS.tmp");
  await Deno.writeTextFile(tmp, lines.map((l) => l + "\n").join(""));
  await Deno.rename(tmp, join(dir, "SHA256SUMS"));
  return lines;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function seconds(ms: number): string {
  return ms < 10_000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000));
}

function megabytes(bytes: number): string {
  return String(Math.round(bytes / (1024 * 1024)));
}

const encoder = new TextEncoder();
function out(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text));
}
function err(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text.endsWith("\n") ? text : text + "\n"));
}

const HELP = `deno task dist — build the release binaries into dist/ (deno compile)

Usage: deno task dist [options]

Options:
  --target NAME     build only this target (repeatable); one of:
                      ${TARGETS.map((t) => t.name).join("\n                      ")}
  --out-dir DIR     where the binaries and SHA256SUMS go (default: dist/ in the repository)
  --no-run-check    do not run '<binary> version' after building a binary for this machine
  -h, --help        this text

Environment:
  DENORT_BIN        a local denort of Deno ${Deno.version.deno} (used for targets of its own
                    architecture), for machines that cannot reach dl.deno.land
  DENORT_BIN_AMD64, DENORT_BIN_ARM64
                    the same, per architecture (they win over DENORT_BIN)
`;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Hook for the web UI bundle. The canvas is embedded in the hub as a generated
 * TypeScript module, so it must be rebuilt before the hub is compiled. `web/build.ts` arrives
 * with the canvas issue; until it exists there is nothing to do here.
 */
const WEB_BUILD = "web/build.ts";

async function buildWeb(): Promise<boolean> {
  try {
    await Deno.stat(join(ROOT, WEB_BUILD));
  } catch {
    out(`[dist] web: no ${WEB_BUILD} yet (the canvas bundle arrives with its issue): skipped\n`);
    return true;
  }
  out(`[dist] web: ${WEB_BUILD} … `);
  const started = Date.now();
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", WEB_BUILD],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) {
    out("failed\n");
    err(cleanDenoError(new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr)));
    return false;
  }
  out(`ok in ${seconds(Date.now() - started)} s\n`);
  return true;
}

/**
 * Runs a freshly built binary of this machine's architecture once (`<binary> version`, 30 s at
 * most): a denort of another Deno version, or not a denort at all, shows up here rather than on
 * a node. Returns what went wrong, or undefined.
 */
async function runCheck(output: string, t: Target): Promise<string | undefined> {
  const expected = `${t.program} ${VERSION}`;
  let said = "";
  try {
    const v = await new Deno.Command(output, {
      args: ["version"],
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(30_000),
    }).output();
    said = new TextDecoder().decode(v.stdout).trim();
    if (v.success && said === expected) return undefined;
  } catch (error) {
    said = errorText(error);
  }
  return `${output} was built, but '${t.name} version' answered ${JSON.stringify(said)} ` +
    `instead of "${expected}": is DENORT_BIN the denort of Deno ${Deno.version.deno}? ` +
    `(--no-run-check skips this check)`;
}

/** Runs the build; returns the exit code (0 built, 1 build failed, 2 usage error). */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        target: { type: "string", multiple: true },
        "out-dir": { type: "string" },
        "no-run-check": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
    }));
  } catch (error) {
    err(`dist: ${errorText(error)} (see --help)`);
    return 2;
  }
  if (values.help) {
    out(HELP);
    return 0;
  }
  const wanted = (values.target ?? []).flatMap((v) => v.split(",")).map((v) => v.trim())
    .filter(Boolean);
  const unknown = wanted.filter((w) => !TARGETS.some((t) => t.name === w));
  if (unknown.length) {
    err(
      `dist: unknown target ${unknown.join(", ")}; targets: ${
        TARGETS.map((t) => t.name).join(", ")
      }`,
    );
    return 2;
  }
  const targets = wanted.length ? TARGETS.filter((t) => wanted.includes(t.name)) : [...TARGETS];
  const outDir = resolve(values["out-dir"] ?? join(ROOT, "dist"));
  await Deno.mkdir(outDir, { recursive: true });
  const env = Deno.env.toObject();
  const hostArch: Arch | undefined = Deno.build.arch === "x86_64"
    ? "amd64"
    : Deno.build.arch === "aarch64"
    ? "arm64"
    : undefined;

  if (targets.some((t) => t.program === "fleet-hub") && !(await buildWeb())) return 1;

  let built = 0;
  let failed = false;
  for (const [i, t] of targets.entries()) {
    out(`[dist ${i + 1}/${targets.length}] ${t.name} … `);
    const started = Date.now();
    const denort = chooseDenort(t, env);
    if (denort.error) {
      out("failed\n");
      err(`dist: ${denort.error}`);
      failed = true;
      break;
    }
    const output = join(outDir, t.name);
    const childEnv: Record<string, string> = { NO_COLOR: "1" };
    // deno compile reads DENORT_BIN itself; the per-arch choice is passed under that name.
    if (denort.path) childEnv.DENORT_BIN = denort.path;
    const r = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(t, output),
      cwd: ROOT,
      env: childEnv,
      clearEnv: false,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!r.success) {
      out("failed\n");
      const stderr = new TextDecoder().decode(r.stderr);
      if (!denort.path && isDenortDownloadFailure(stderr)) {
        err(denortMessage(t, innermostCause(stderr)));
      } else {
        err(`deno compile ${t.entry} for ${t.triple} failed:\n${cleanDenoError(stderr)}`);
      }
      failed = true;
      break;
    }
    const size = (await Deno.stat(output)).size;
    let check = "";
    if (!values["no-run-check"] && t.arch === hostArch) {
      const problem = await runCheck(output, t);
      if (problem) {
        out("failed\n");
        // A binary that does not run must never be served under /dist/.
        await Deno.remove(output).catch(() => {});
        err(problem);
        failed = true;
        break;
      }
      check = ", runs";
    }
    built++;
    out(`ok ${megabytes(size)} MB in ${seconds(Date.now() - started)} s${check}\n`);
  }

  if (built > 0) {
    const lines = await writeSha256Sums(outDir);
    out(`[dist] ${join(outDir, "SHA256SUMS")}: ${lines.length} file(s)\n`);
  }
  return failed ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    // Never a stack trace for an operator: one line, exit 1.
    err(`dist: ${errorText(error)}`);
    Deno.exit(1);
  }
}
