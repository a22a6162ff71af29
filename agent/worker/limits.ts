/**
 * Resource limits for `process` jobs: where systemd is PID 1 (and the agent is root), a job with
 * a memory or CPU limit runs as `systemd-run --scope -p MemoryMax= -p MemorySwapMax=0
 * -p CPUQuota=` — a transient scope whose cgroup carries the limits; the scope is bound to the
 * agent's own unit, so stopping the agent stops it. A scope the kernel OOM-killed ends with
 * `Result=oom-kill`, which is how a memory kill is told from any other failure.
 *
 * Elsewhere (no systemd, not root, or a memory/cpu controller this systemd cannot write, as in a
 * container on a cgroup v1 host) the job runs without them and its result says "limits not
 * enforced" with the reason: a limit that silently does nothing would be worse than none.
 *
 * @module
 */
import { findExecutable } from "../collect/sampler.ts";

/** Whether (and why not) this node can put limits on process jobs. */
export interface ScopeSupport {
  ok: boolean;
  /** Why not, when `ok` is false. */
  reason?: string;
}

/** Whether a cgroup hierarchy mounted at `path` can be written (from /proc/self/mountinfo). */
function writableMount(path: string): boolean | undefined {
  try {
    for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
      const f = line.split(" ");
      if (f[4] === path) return f[5].split(",").includes("rw");
    }
  } catch { /* no /proc: unknown */ }
  return undefined;
}

/** Checks once whether limits can be enforced here. */
export function scopeSupport(): ScopeSupport {
  const exists = (p: string) => {
    try {
      Deno.statSync(p);
      return true;
    } catch {
      return false;
    }
  };
  if (!exists("/run/systemd/system")) {
    return { ok: false, reason: "systemd is not running on this node" };
  }
  if (!findExecutable("systemd-run")) return { ok: false, reason: "systemd-run is not installed" };
  if (Deno.uid() !== 0) return { ok: false, reason: "the agent does not run as root" };
  // cgroup v2: the controllers must be enabled at the root; v1: their hierarchies writable.
  try {
    const controllers = Deno.readTextFileSync("/sys/fs/cgroup/cgroup.controllers").split(/\s+/);
    if (!controllers.includes("memory") || !controllers.includes("cpu")) {
      return { ok: false, reason: "the cgroup memory or cpu controller is not available" };
    }
    return { ok: true };
  } catch { /* not pure v2 */ }
  for (const c of ["memory", "cpu"]) {
    if (writableMount(`/sys/fs/cgroup/${c}`) !== true) {
      return {
        ok: false,
        reason: `the cgroup ${c} controller is read-only here (a container on a cgroup v1 host?)`,
      };
    }
  }
  return { ok: true };
}

/** The systemd unit the agent runs in (`fleet-agent.service`), from its cgroup, if any. */
export function ownUnit(): string | undefined {
  try {
    for (const line of Deno.readTextFileSync("/proc/self/cgroup").split("\n")) {
      const m = /\/([^/]+\.service)(?:\/|$)/.exec(line.split(":").slice(2).join(":"));
      if (m) return m[1];
    }
  } catch { /* no /proc */ }
  return undefined;
}

/** The `systemd-run` argv that runs `file args` in scope `unit` with the job's limits. */
export function scopeCommand(
  unit: string,
  limits: { memory_b?: number | null; cpus?: number | null },
  file: string,
  args: string[],
): { file: string; args: string[] } {
  const props: string[] = [];
  if (limits.memory_b) props.push("-p", `MemoryMax=${limits.memory_b}`, "-p", "MemorySwapMax=0");
  if (limits.cpus) props.push("-p", `CPUQuota=${Math.max(1, Math.round(limits.cpus * 100))}%`);
  const agent = ownUnit();
  // Bound to the agent's unit: stopping or restarting the agent stops its jobs' scopes too.
  if (agent) props.push("-p", `BindsTo=${agent}`);
  return {
    file: "systemd-run",
    args: ["--scope", "--quiet", `--unit=${unit}`, ...props, "--", file, ...args],
  };
}

/**
 * How a scope ended (`oom-kill`, `signal`, `exit-code`, `success`…), then forgets a failed one.
 * A scope that ended well is gone already (`success`).
 */
export async function scopeResult(unit: string): Promise<string> {
  const run = (args: string[]) =>
    new Deno.Command("systemctl", { args, stdin: "null", stdout: "piped", stderr: "null" })
      .output().catch(() => undefined);
  const out = await run(["show", "-p", "Result", "--value", `${unit}.scope`]);
  const result = out?.success ? new TextDecoder().decode(out.stdout).trim() : "";
  if (result && result !== "success") await run(["reset-failed", `${unit}.scope`]);
  return result || "success";
}
