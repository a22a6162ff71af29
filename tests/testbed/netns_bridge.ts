/**
 * Makes a hub on the host's loopback reachable from inside a test's network namespace, which has
 * its own loopback. Run inside the namespace (`nsenter --net=…`): listens on 127.0.0.1:PORT there
 * and pipes each connection to a unix socket, which lives on the filesystem and so crosses the
 * namespace boundary; the test process pipes that socket on to the hub. Prints `ready` once
 * listening.
 *
 * Usage: deno run -A tests/testbed/netns_bridge.ts PORT UNIX_SOCKET_PATH
 *
 * @module
 */
const [port, path] = Deno.args;
const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(port) });
console.log("ready");
for await (const conn of listener) {
  (async () => {
    try {
      const up = await Deno.connect({ transport: "unix", path });
      await Promise.all([
        conn.readable.pipeTo(up.writable).catch(() => {}),
        up.readable.pipeTo(conn.writable).catch(() => {}),
      ]);
    } catch {
      try {
        conn.close();
      } catch { /* closed */ }
    }
  })();
}
