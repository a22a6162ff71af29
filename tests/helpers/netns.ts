/**
 * Several hosts on one machine (TESTING.md): two network namespaces joined by a veth pair, with
 * addresses in a private /24 that only those two namespaces hold. Nothing outside them is touched:
 * no host interface, route or address changes. Needs root, `ip` (iproute2) and `nsenter`
 * (util-linux).
 *
 * @module
 */
import { findExecutable } from "../../agent/collect/sampler.ts";

/** Tools this machine lacks for namespaces; CI installs them. */
export const NETNS_MISSING: string[] = ["ip", "nsenter"].filter((p) => !findExecutable(p));

/** `apt-get` line that installs the tools. */
export const NETNS_INSTALL = "apt-get install -y iproute2 util-linux";

/** Why namespaces cannot be made here (not root, tools missing), or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (Deno.uid() !== 0) return "not root (network namespaces need root)";
  if (NETNS_MISSING.length) {
    return `missing ${NETNS_MISSING.join(", ")}; install with: ${NETNS_INSTALL}`;
  }
  return undefined;
}

/** One end: a namespace, its veth interface and its address (without the /24). */
export interface NetnsHost {
  ns: string;
  iface: string;
  addr: string;
}

/** Two namespaces joined by a veth pair. */
export interface NetnsPair {
  a: NetnsHost;
  b: NetnsHost;
  /** Brings `host`'s end of the pair down or up (down: its peer loses carrier too). */
  link(host: NetnsHost, up: boolean): Promise<void>;
  /** Runs a command inside `host`'s namespace (network only) and returns its stdout. */
  exec(host: NetnsHost, cmd: string, ...args: string[]): Promise<string>;
  /** Deletes both namespaces (and so the pair). Safe to call twice. */
  remove(): Promise<void>;
}

async function run(cmd: string, args: string[]): Promise<string> {
  const o = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    signal: AbortSignal.timeout(30_000),
  }).output();
  if (!o.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(o.stderr).trim()}`);
  }
  return new TextDecoder().decode(o.stdout).trim();
}

/**
 * Creates the namespaces `fleet-<tag>-a`/`-b` with `<subnet>.1/24` and `<subnet>.2/24` on the two
 * ends of a veth pair and loopback up in each. Names are random per call, so concurrent tests do
 * not collide; the addresses live only inside the namespaces. On failure, whatever was made is
 * removed before the error is thrown.
 *
 * @example
 * ```ts
 * const net = await createNetnsPair({ subnet: "10.231.7" });
 * try { await net.exec(net.b, "ip", "-br", "addr"); } finally { await net.remove(); }
 * ```
 */
export async function createNetnsPair(options: { subnet?: string } = {}): Promise<NetnsPair> {
  const subnet = options.subnet ?? "10.231.7";
  if (!/^10\.\d{1,3}\.\d{1,3}$/.test(subnet)) {
    throw new Error(`subnet must be the first three octets of a 10/8 /24, e.g. 10.231.7`);
  }
  const tag = crypto.randomUUID().slice(0, 6);
  // Interface names are at most 15 characters.
  const a: NetnsHost = { ns: `fleet-${tag}-a`, iface: `fv${tag}a`, addr: `${subnet}.1` };
  const b: NetnsHost = { ns: `fleet-${tag}-b`, iface: `fv${tag}b`, addr: `${subnet}.2` };
  const made: string[] = [];
  const remove = async () => {
    for (const ns of made.splice(0)) await run("ip", ["netns", "del", ns]).catch(() => {});
  };
  try {
    for (const h of [a, b]) {
      await run("ip", ["netns", "add", h.ns]);
      made.push(h.ns);
    }
    await run("ip", [
      ...["link", "add", a.iface, "netns", a.ns, "type", "veth"],
      ...["peer", "name", b.iface, "netns", b.ns],
    ]);
    for (const h of [a, b]) {
      await run("ip", ["-n", h.ns, "addr", "add", `${h.addr}/24`, "dev", h.iface]);
      await run("ip", ["-n", h.ns, "link", "set", h.iface, "up"]);
      await run("ip", ["-n", h.ns, "link", "set", "lo", "up"]);
    }
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    a,
    b,
    link: async (h, up) => {
      await run("ip", ["-n", h.ns, "link", "set", h.iface, up ? "up" : "down"]);
    },
    exec: (h, cmd, ...args) => run("nsenter", [`--net=/run/netns/${h.ns}`, cmd, ...args]),
    remove,
  };
}
