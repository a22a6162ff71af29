/**
 * Bench helper for the `control` phase: runs N agents' control channels (the real
 * `agent/control.ts`, with real exec and PTY code) in this one process against a hub, prints
 * `{"kind":"agents-ready",…}` once all are connected, and runs until SIGTERM. One process keeps
 * the load generator off the hub's two cores as much as possible; each agent still holds its own
 * WebSocket with its own node token.
 *
 * Usage: deno run -A tests/bench/control_agents.ts CONFIG.json   ({hub, tokens: [...]})
 *
 * @module
 */
import { runControl } from "../../agent/control.ts";
import { setLogLevel } from "../../shared/log.ts";
import { VERSION } from "../../shared/version.ts";

const config = JSON.parse(await Deno.readTextFile(Deno.args[0])) as {
  hub: string;
  tokens: string[];
};
setLogLevel("warn");
const stop = new AbortController();
Deno.addSignalListener("SIGTERM", () => stop.abort());
let connected = 0;
let announced = false;
const runs = config.tokens.map((token, i) =>
  runControl({
    hub: config.hub,
    token,
    version: VERSION,
    hostname: `bench-${i}`,
    dockerSocket: false,
    signal: stop.signal,
    onState: (up) => {
      connected += up ? 1 : -1;
      if (!announced && connected === config.tokens.length) {
        announced = true;
        console.log(JSON.stringify({ kind: "agents-ready", connected }));
      }
    },
  })
);
await Promise.all(runs);
