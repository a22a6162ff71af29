/**
 * Test services for the network scan test, run inside a namespace: an SSH-like banner on one port
 * and a small HTTP server on another. Prints `ready` once both listen.
 *
 * Usage: deno run -A tests/testbed/net_listeners.ts SSH_PORT HTTP_PORT
 *
 * @module
 */
const [sshPort, httpPort] = Deno.args.map(Number);
const ssh = Deno.listen({ hostname: "0.0.0.0", port: sshPort });
Deno.serve(
  { hostname: "0.0.0.0", port: httpPort, onListen: () => {} },
  () => new Response("ok", { headers: { server: "fleet-test-http" } }),
);
console.log("ready");
for await (const conn of ssh) {
  conn.write(new TextEncoder().encode("SSH-2.0-OpenSSH_9.2p1 fleet-test\r\n"))
    .catch(() => {})
    .finally(() => setTimeout(() => conn.close(), 2000));
}
