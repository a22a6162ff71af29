/**
 * The bare agent baseline of the performance targets: a Deno loop that reads /proc/stat, /proc/meminfo,
 * /proc/loadavg and /proc/net/dev every interval (default 5 s) and does nothing else. It imports
 * nothing, so its RSS is Deno's floor. The bench measures its RSS and CPU exactly as it measures
 * the real agent.
 *
 * `deno run --allow-read tests/bench/bare_loop.ts [--interval-ms 5000]`
 *
 * @module
 */
const i = Deno.args.indexOf("--interval-ms");
const intervalMs = i >= 0 ? Number(Deno.args[i + 1]) : 5000;
const files = ["/proc/stat", "/proc/meminfo", "/proc/loadavg", "/proc/net/dev"];
let bytes = 0;
console.log(JSON.stringify({ msg: "bare loop started", interval_ms: intervalMs }));
// Runs until the bench stops it (SIGTERM).
while (true) {
  for (const f of files) bytes += (await Deno.readTextFile(f)).length;
  await new Promise((r) => setTimeout(r, intervalMs));
  if (bytes > Number.MAX_SAFE_INTEGER / 2) bytes = 0;
}
