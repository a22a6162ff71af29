/**
 * The kernel's IPv4 neighbour (ARP) table, `/proc/net/arp`: which addresses on the node's links
 * answered ARP, with their MAC. Hosts that drop ping and every probed port still answer ARP, so
 * a sweep reads this table after probing.
 *
 * @module
 */

/** One complete neighbour entry. */
export interface Neighbour {
  ip: string;
  mac: string;
  device: string;
}

/** ARP flag "complete" (ATF_COM): the entry has a MAC. */
const ATF_COM = 0x2;

/** Parses `/proc/net/arp` text; incomplete entries (no answer) are skipped. */
export function parseArpTable(text: string): Neighbour[] {
  const out: Neighbour[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    const flags = Number.parseInt(f[2], 16);
    const mac = f[3].toLowerCase();
    if (!(flags & ATF_COM) || mac === "00:00:00:00:00:00") continue;
    out.push({ ip: f[0], mac, device: f[5] });
  }
  return out;
}

/** Reads the neighbour table (empty when unreadable). */
export async function readNeighbours(path = "/proc/net/arp"): Promise<Neighbour[]> {
  try {
    return parseArpTable(await Deno.readTextFile(path));
  } catch {
    return [];
  }
}
