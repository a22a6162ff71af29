/**
 * A private Docker engine and loopback registry for tests (tests/testbed/start-docker.sh, per
 * TESTING.md). Missing packages: the caller skips loudly, unless CI=true where it fails.
 *
 * @module
 */
import { findExecutable } from "../../agent/collect/sampler.ts";

/** True when the test machine lacks what dockerd needs; CI installs it. */
export const DOCKER_MISSING: string[] = ["dockerd", "docker", "docker-registry", "/bin/busybox"]
  .filter((p) => !findExecutable(p));

/** `apt-get` line that installs the parts. */
export const DOCKER_INSTALL = "apt-get install -y docker.io docker-registry busybox-static";

/** Why no engine can start here (what is missing and how to install it), or undefined. */
export const DOCKER_UNAVAILABLE: string | undefined = DOCKER_MISSING.length
  ? `missing ${DOCKER_MISSING.join(", ")}; install with: ${DOCKER_INSTALL}`
  : undefined;

/** A running engine. */
export interface Dockerd {
  dir: string;
  socket: string;
  /** `127.0.0.1:PORT/fleet/busybox:1`, in the registry and in the engine's cache. */
  image: string;
  registry: string;
  /** Runs the docker CLI against this engine. */
  docker(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Options of {@link startDockerd}. */
export interface StartDockerdOptions {
  /** Also init a single-node swarm advertising 127.0.0.1. */
  swarm?: boolean;
  /**
   * A network namespace (`ip netns add` name) to run the engine and its registry in: they see only
   * that namespace's interfaces (its loopback must be up). The socket stays a path under the temp
   * dir, so the host reaches the engine as usual. `nsenter --net` rather than `ip netns exec`:
   * the latter remounts /sys, which hides the cgroup mounts dockerd needs.
   */
  netns?: string;
}

/** Starts an engine and registry in a temp dir (about 2 s); `swarm` also inits a swarm. */
export async function startDockerd(options: StartDockerdOptions = {}): Promise<Dockerd> {
  if (DOCKER_UNAVAILABLE) throw new Error(DOCKER_UNAVAILABLE);
  const dir = await Deno.makeTempDir({ prefix: "fleet-dockerd-" });
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const script = new URL("../testbed/start-docker.sh", import.meta.url).pathname;
  const args = [script, dir, String(port), ...(options.swarm ? ["--swarm"] : [])];
  const out = await new Deno.Command(options.netns ? "nsenter" : "bash", {
    args: options.netns ? [`--net=/run/netns/${options.netns}`, "bash", ...args] : args,
    stdin: "null",
    signal: AbortSignal.timeout(90_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const stop = async () => {
    await new Deno.Command("bash", { args: [`${dir}/stop.sh`], stdin: "null" }).output()
      .catch(() => {});
  };
  if (!out.success) {
    await stop();
    throw new Error(`dockerd did not start: ${new TextDecoder().decode(out.stderr).slice(-500)}`);
  }
  const socket = `${dir}/docker.sock`;
  const docker = async (...args: string[]) => {
    const o = await new Deno.Command("docker", {
      args,
      env: { DOCKER_HOST: `unix://${socket}` },
      stdin: "null",
    }).output();
    if (!o.success) {
      throw new Error(`docker ${args.join(" ")}: ${new TextDecoder().decode(o.stderr)}`);
    }
    return new TextDecoder().decode(o.stdout).trim();
  };
  return {
    dir,
    socket,
    image: /IMAGE=(\S+)/.exec(text)![1],
    registry: /REGISTRY=(\S+)/.exec(text)![1],
    docker,
    stop,
  };
}

/** Mount points at or below `dir` (from /proc/self/mountinfo), deepest first. */
async function mountsUnder(dir: string): Promise<string[]> {
  const info = await Deno.readTextFile("/proc/self/mountinfo").catch(() => "");
  return info.split("\n")
    .map((l) =>
      l.split(" ")[4]?.replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)))
    )
    .filter((mp): mp is string => !!mp && (mp === dir || mp.startsWith(`${dir}/`)))
    .sort((x, y) => y.length - x.length);
}

/**
 * Stops the engine and removes its dir: SIGKILL by PID when dockerd outlives stop.sh's bounded
 * wait, then lazy unmounts of what a killed engine leaves mounted below its dir (its data-root
 * bind mount, its sandboxes' namespace files), never anything outside it.
 */
export async function removeDockerd(d: Dockerd): Promise<void> {
  await d.stop();
  const pid = Number((await Deno.readTextFile(`${d.dir}/docker.pid`).catch(() => "")).trim());
  const cmdline = pid ? await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "") : "";
  if (cmdline.includes(d.dir)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* exited meanwhile */ }
    for (let i = 0; i < 50 && await Deno.stat(`/proc/${pid}`).then(() => true, () => false); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  for (const mp of await mountsUnder(d.dir)) {
    await new Deno.Command("umount", { args: ["-l", mp], stdin: "null", stderr: "null" }).output()
      .catch(() => {});
  }
  await Deno.remove(d.dir, { recursive: true }).catch(() => {});
}

/**
 * Starts one engine in each network namespace, in parallel. When one fails, those that started
 * are stopped and its error is thrown, so the caller only ever holds engines it must stop.
 */
export async function startDockerdIn(namespaces: string[]): Promise<Dockerd[]> {
  const started = await Promise.allSettled(namespaces.map((ns) => startDockerd({ netns: ns })));
  const engines = started.flatMap((s) => s.status === "fulfilled" ? [s.value] : []);
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    await Promise.all(engines.map((e) => e.stop()));
    throw failed.reason;
  }
  return engines;
}
