// @ts-self-types="./oui_table.d.ts"
// JavaScript on purpose: type-checking a JSON module from npm pulls in Node's global types,
// which change `WebSocket` for the whole program. The declaration file gives its type.

/** The IEEE OUI registry from the pinned `oui-data` package: hex prefix → vendor lines. */
export async function loadOuiTable() {
  return (await import("oui-data", { with: { type: "json" } })).default;
}
