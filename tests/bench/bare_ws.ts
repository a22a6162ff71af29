/**
 * Bare baseline for the `control` phase: a plain `Deno.serve` + `Deno.upgradeWebSocket` echo
 * server (no auth, no JSON, no relay). The bench measures a one-character echo round trip
 * through it, and its RSS growth per idle connected socket, next to the hub's numbers. A request
 * that is not an upgrade has its body read and a small JSON answer: the `agent` phase's bare agent
 * (`bare_agent.ts`) posts its samples here.
 *
 * Usage: deno run -A tests/bench/bare_ws.ts   (prints {"msg":"listening","port":N})
 *
 * @module
 */
const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(JSON.stringify({ msg: "listening", port })),
}, async (req) => {
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return Response.json({ ok: true, bytes: (await req.arrayBuffer()).byteLength });
  }
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.onmessage = (e) => socket.send(e.data);
  return response;
});
Deno.addSignalListener("SIGTERM", () => server.shutdown());
await server.finished;
