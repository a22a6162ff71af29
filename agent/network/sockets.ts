/**
 * Listening services and connections of the node, from `/proc/net/{tcp,tcp6,udp,udp6}`, with
 * the owning process where readable: each socket's inode is matched against the
 * `socket:[inode]` links in `/proc/<pid>/fd` (other users' processes need root).
 *
 * @module
 */
import type { NodeConnections, SocketEntry } from "../../shared/protocol/mod.ts";

const TCP_STATES: Record<string, string> = {
  "01": "ESTABLISHED",
  "02": "SYN_SENT",
  "03": "SYN_RECV",
  "04": "FIN_WAIT1",
  "05": "FIN_WAIT2",
  "06": "TIME_WAIT",
  "07": "CLOSE",
  "08": "CLOSE_WAIT",
  "09": "LAST_ACK",
  "0A": "LISTEN",
  "0B": "CLOSING",
  "0C": "NEW_SYN_RECV",
};

/** Most sockets listed per kind; the rest are counted as truncated. */
const MAX_LISTED = 2000;
/** Most processes whose fds are read (a node with more is still answered, owners partly). */
const MAX_PIDS = 4000;

/** A socket as parsed, before its owner is known. */
export interface RawSocket extends Omit<SocketEntry, "pid" | "process"> {
  inode: number;
}

/** Decodes the kernel's hex address (`0100007F` or 32 hex digits of IPv6, per-word LE). */
export function decodeAddress(hex: string): string {
  if (hex.length === 8) {
    const n = Number.parseInt(hex, 16);
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join(".");
  }
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(Number.parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255) {
    return `::ffff:${bytes.slice(12).join(".")}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  // Compress the longest run of zero groups, as people write IPv6.
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (bestLen < 2) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

/** Parses one `/proc/net/{tcp,tcp6,udp,udp6}` file. */
export function parseProcNet(text: string, proto: SocketEntry["proto"]): RawSocket[] {
  const out: RawSocket[] = [];
  const udp = proto.startsWith("udp");
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [la, lp] = f[1].split(":");
    const [ra, rp] = f[2].split(":");
    if (!lp || !rp) continue;
    const remotePort = Number.parseInt(rp, 16);
    const st = f[3].toUpperCase();
    // UDP has no LISTEN: an unconnected socket (state 07, no remote) is a listening service.
    const state = udp
      ? (remotePort === 0 ? "LISTEN" : "ESTABLISHED")
      : (TCP_STATES[st] ?? `0x${st}`);
    out.push({
      proto,
      state,
      local: decodeAddress(la),
      local_port: Number.parseInt(lp, 16),
      remote: decodeAddress(ra),
      remote_port: remotePort,
      inode: Number(f[9]),
    });
  }
  return out;
}

/** Maps socket inodes to their process (pid, name) by walking `/proc/<pid>/fd`. */
async function socketOwners(
  proc: string,
  wanted: Set<number>,
): Promise<{ owners: Map<number, { pid: number; process: string }>; complete: boolean }> {
  const owners = new Map<number, { pid: number; process: string }>();
  let complete = true;
  let seen = 0;
  try {
    for await (const e of Deno.readDir(proc)) {
      if (!/^\d+$/.test(e.name)) continue;
      if (++seen > MAX_PIDS || owners.size === wanted.size) break;
      const pid = Number(e.name);
      let fds: AsyncIterable<Deno.DirEntry>;
      try {
        fds = Deno.readDir(`${proc}/${pid}/fd`);
        for await (const fd of fds) {
          let link: string;
          try {
            link = await Deno.readLink(`${proc}/${pid}/fd/${fd.name}`);
          } catch {
            continue;
          }
          const m = /^socket:\[(\d+)\]$/.exec(link);
          if (!m) continue;
          const inode = Number(m[1]);
          if (!wanted.has(inode) || owners.has(inode)) continue;
          let name = "";
          try {
            name = (await Deno.readTextFile(`${proc}/${pid}/comm`)).trim();
          } catch { /* gone */ }
          owners.set(inode, { pid, process: name || `pid ${pid}` });
        }
      } catch (error) {
        // A process that exited meanwhile is no loss; a denied one hides its sockets' owner.
        if (error instanceof Deno.errors.PermissionDenied) complete = false;
      }
    }
  } catch {
    complete = false;
  }
  return { owners, complete };
}

/** The node's listening services and connections (`proc` is normally `/proc`). */
export async function readConnections(proc = "/proc"): Promise<NodeConnections> {
  const raw: RawSocket[] = [];
  for (const proto of ["tcp", "tcp6", "udp", "udp6"] as const) {
    try {
      raw.push(...parseProcNet(await Deno.readTextFile(`${proc}/net/${proto}`), proto));
    } catch { /* no IPv6, or not Linux */ }
  }
  const listening: RawSocket[] = [];
  const established: RawSocket[] = [];
  const other: Record<string, number> = {};
  let truncated = false;
  for (const s of raw) {
    const list = s.state === "LISTEN" ? listening : s.state === "ESTABLISHED" ? established : null;
    if (!list) other[s.state] = (other[s.state] ?? 0) + 1;
    else if (list.length < MAX_LISTED) list.push(s);
    else truncated = true;
  }
  const wanted = new Set([...listening, ...established].map((s) => s.inode).filter((i) => i > 0));
  const { owners, complete } = await socketOwners(proc, wanted);
  const withOwner = (s: RawSocket): SocketEntry => {
    const { inode, ...rest } = s;
    const o = owners.get(inode);
    return { ...rest, pid: o?.pid ?? null, process: o?.process ?? null };
  };
  const byPort = (a: SocketEntry, b: SocketEntry) =>
    a.local_port - b.local_port || a.proto.localeCompare(b.proto);
  return {
    at: Date.now(),
    listening: listening.map(withOwner).sort(byPort),
    established: established.map(withOwner).sort(byPort),
    other,
    truncated,
    // Sockets of other network namespaces' processes have no owner here; only denials count.
    processes_complete: complete,
  };
}
