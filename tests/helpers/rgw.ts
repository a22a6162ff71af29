/**
 * A private Ceph RADOS Gateway (real S3) for tests: one monitor, one in-memory OSD and radosgw on
 * 127.0.0.1 (tests/testbed/start-rgw.sh, per TESTING.md). Start ONE per test file (12–19 s).
 * Missing packages: the caller skips loudly, unless CI=true where it fails.
 *
 * @module
 */
import { findExecutable } from "../../agent/collect/sampler.ts";
import { openS3, type S3Config, type S3Store } from "../../shared/s3.ts";

/** Programs the gateway needs that this machine lacks; CI installs them. */
export const RGW_MISSING: string[] = ["ceph-mon", "ceph-osd", "radosgw", "ceph-authtool"]
  .filter((p) => !findExecutable(p));

/** `apt-get` line that installs the parts. */
export const RGW_INSTALL = "apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw";

/** A running gateway. */
export interface Rgw {
  dir: string;
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** S3 settings for `bucket` on this gateway (path-style). */
  config(bucket: string): S3Config;
  /** Opens `bucket`, creating it when missing. */
  bucket(name: string): Promise<S3Store>;
  stop(): Promise<void>;
}

/** True when a port and port+10000 are both free on 127.0.0.1. */
function portsFree(port: number): boolean {
  for (const p of [port, port + 10000]) {
    try {
      Deno.listen({ hostname: "127.0.0.1", port: p }).close();
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Starts a gateway in a temp dir. Throws when packages are missing (check {@link RGW_MISSING}
 * first) or it does not come up within 120 s. A start that fails (a port taken between the check
 * and the bind by another test's cluster) is tried once more on other ports.
 */
export async function startRgw(): Promise<Rgw> {
  if (RGW_MISSING.length) {
    throw new Error(`missing ${RGW_MISSING.join(", ")}; install with: ${RGW_INSTALL}`);
  }
  try {
    return await startOnce();
  } catch (e) {
    console.error(
      `radosgw start failed, trying other ports: ${(e as Error).message.slice(0, 300)}`,
    );
    return await startOnce();
  }
}

async function startOnce(): Promise<Rgw> {
  const dir = await Deno.makeTempDir({ prefix: "fleet-rgw-" });
  let port = 0;
  for (let i = 0; i < 50 && !port; i++) {
    const p = 20000 + Math.floor(Math.random() * 9000);
    if (portsFree(p)) port = p;
  }
  if (!port) throw new Error("no free port pair for radosgw");
  const script = new URL("../testbed/start-rgw.sh", import.meta.url).pathname;
  const accessKey = "AKTEST" + crypto.randomUUID().slice(0, 8).toUpperCase();
  const secretKey = "SK" + crypto.randomUUID().replaceAll("-", "");
  const out = await new Deno.Command("bash", {
    args: [script, `${dir}/rgw`, String(port)],
    env: { S3_ACCESS_KEY: accessKey, S3_SECRET_KEY: secretKey, MEMSTORE_BYTES: "4294967296" },
    stdin: "null",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const stop = async () => {
    // SIGTERM to the three daemons, then wait for them to exit (ceph-osd takes 3–5 s).
    const pids: number[] = [];
    for (const n of ["mon", "osd", "rgw"]) {
      try {
        pids.push(Number(Deno.readTextFileSync(`${dir}/rgw/${n}.pid`).trim()));
      } catch { /* not started */ }
    }
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGTERM");
      } catch { /* gone */ }
    }
    for (let i = 0; i < 200; i++) {
      const alive = pids.filter((pid) => {
        try {
          Deno.statSync(`/proc/${pid}`);
          return true;
        } catch {
          return false;
        }
      });
      if (!alive.length) break;
      if (i === 150) alive.forEach((pid) => Deno.kill(pid, "SIGKILL"));
      await new Promise((r) => setTimeout(r, 100));
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).slice(-800);
    await stop();
    throw new Error(`radosgw did not start: ${err}`);
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const config = (bucket: string): S3Config => ({
    endpoint,
    region: "us-east-1",
    bucket,
    pathStyle: true,
    accessKey,
    secretKey,
  });
  return {
    dir,
    endpoint,
    accessKey,
    secretKey,
    config,
    async bucket(name: string) {
      const s3 = openS3(config(name));
      await s3.ensureBucket();
      return s3;
    },
    stop,
  };
}

/**
 * For a test file: returns null (and says so on stderr) when the packages are missing locally;
 * under CI=true a missing package is a failure.
 */
export function rgwUnavailable(): string | null {
  if (!RGW_MISSING.length) return null;
  const why = `Ceph RGW missing (${RGW_MISSING.join(", ")}); install: ${RGW_INSTALL}`;
  if (Deno.env.get("CI") === "true") throw new Error(why);
  console.error(`SKIPPING: ${why}`);
  return why;
}
