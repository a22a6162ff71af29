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

/** Starts an engine and registry in a temp dir (about 2 s); `swarm` also inits a swarm. */
export async function startDockerd(options: { swarm?: boolean } = {}): Promise<Dockerd> {
  if (DOCKER_MISSING.length) {
    throw new Error(`missing ${DOCKER_MISSING.join(", ")}; install with: ${DOCKER_INSTALL}`);
  }
  const dir = await Deno.makeTempDir({ prefix: "fleet-dockerd-" });
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const script = new URL("../testbed/start-docker.sh", import.meta.url).pathname;
  const out = await new Deno.Command("bash", {
    args: [script, dir, String(port), ...(options.swarm ? ["--swarm"] : [])],
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
