/**
 * MAC vendor names from the IEEE OUI registry, as the pinned `oui-data` package ships it. The
 * table is ~5.6 MB of JSON, so it is loaded on the first lookup (the first LAN scan result),
 * never at start.
 *
 * @module
 */

import { loadOuiTable } from "./oui_table.js";

let table: Promise<Record<string, string>> | undefined;

/** The registry, loaded once on first use. */
function registry(): Promise<Record<string, string>> {
  return table ??= loadOuiTable();
}

/** The vendor of a MAC (`aa:bb:cc:…`), or null: unknown prefix, or a locally administered MAC. */
export async function macVendor(mac: string): Promise<string | null> {
  const hex = mac.replace(/[^0-9a-fA-F]/g, "").toUpperCase();
  if (hex.length < 6) return null;
  // The "locally administered" bit: random or virtual MACs (veth, VMs) have no vendor.
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x02) return null;
  const entry = (await registry())[hex.slice(0, 6)];
  return entry ? entry.split("\n")[0].trim() : null;
}
