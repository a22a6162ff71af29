/**
 * The agent's floor in the `agent` phase: `bare_loop.ts` plus the three runtime features any agent
 * needs to do its job, used as plainly as possible: every interval it reads the same /proc files,
 * asks libc's `statfs` for the root's free space (FFI), POSTs a ~2 KB JSON sample with `fetch` and
 * sends a ping on a WebSocket it keeps open. It imports nothing, so its RSS is what the runtime
 * takes for that work; the bench measures it exactly as it measures the real agent.
 *
 * `deno run --allow-read --allow-net --allow-ffi tests/bench/bare_agent.ts --url http://HOST:PORT
 * [--interval-ms 5000]` (the server is `bare_ws.ts`).
 *
 * @module
 */
const arg = (name: string) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
};
const url = arg("--url");
if (!url) {
  console.error("usage: bare_agent.ts --url http://HOST:PORT [--interval-ms 5000]");
  Deno.exit(2);
}
const intervalMs = Number(arg("--interval-ms") ?? 5000);
const files = ["/proc/stat", "/proc/meminfo", "/proc/loadavg", "/proc/net/dev"];
const libc = Deno.dlopen("libc.so.6", {
  statfs: { parameters: ["buffer", "buffer"], result: "i32" },
});
const root = new TextEncoder().encode("/\0");
const statBuf = new BigUint64Array(15);
const ws = new WebSocket(url.replace(/^http/, "ws") + "/socket");
let seq = 0;
console.log(JSON.stringify({ msg: "bare agent started", interval_ms: intervalMs }));
// Runs until the bench stops it (SIGTERM).
while (true) {
  const sizes: number[] = [];
  for (const f of files) sizes.push((await Deno.readTextFile(f)).length);
  const ok = libc.symbols.statfs(root, statBuf) === 0;
  const sample = { seq: ++seq, ts: Date.now(), sizes, free_blocks: ok ? Number(statBuf[4]) : null };
  const res = await fetch(`${url}/ingest`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...sample, pad: "x".repeat(2000) }),
  });
  await res.json();
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping", seq }));
  await new Promise((r) => setTimeout(r, intervalMs));
}
