/**
 * Link quality through a slow and lossy link: a real agent process reaches a real hub through a
 * loopback TCP proxy of this test that delays and "loses" chunks (a lost chunk arrives only after
 * a retransmit pause, as on TCP). The hub's control pings (every second; a ping not answered
 * within a second is lost) and the agent's own probe of the hub move accordingly on the SSE stream
 * (`link.quality`), in `GET /network/links`, in the minute history and in the MCP tool
 * `fleet_link_quality` (the real MCP client over `/mcp`).
 */
import assert from "node:assert/strict";
import { startHub } from "../helpers/hub.ts";
import { startAgent } from "../helpers/agent.ts";
import { SseClient } from "../helpers/sse.ts";
import { startLinkProxy } from "../helpers/link_proxy.ts";
import type { NodeLink } from "../../shared/protocol/mod.ts";
import { ApiError } from "../../shared/api_client.ts";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";

Deno.test("link quality: RTT and loss through a delaying, dropping proxy", async (t) => {
  const hub = await startHub({ args: ["--control-ping", "1s"] });
  const proxy = startLinkProxy(hub.port, 7);
  const sse = await SseClient.connect(hub.url, hub.adminToken);
  const token = (await hub.admin.createToken({ kind: "node", node_id: "l1" })).token;
  const agent = startAgent({
    hub: proxy.url,
    token,
    stateDir: await Deno.makeTempDir({ prefix: "fleet-l1-" }),
    interval: "300ms",
  });
  /** The first reading of l1 from now on that satisfies `test`, waited for (bounded). */
  const linkOnStream = async (
    test: (l: NodeLink) => boolean,
    what: string,
    timeoutMs = 90_000, // generous: a loaded CI machine delays readings, never changes them
  ) => {
    let found: NodeLink | undefined;
    // Only readings that arrive from now on: earlier ones describe the link before the change.
    const from = sse.events.length;
    await sse.next(
      (e) => {
        if (e.event !== "link.quality") return false;
        const l = (JSON.parse(e.data).links as NodeLink[]).find((x) => x.node_id === "l1");
        if (l && test(l)) found = l;
        return found !== undefined;
      },
      timeoutMs,
      from,
    ).catch((error) => {
      // Say what the stream did show, so a failure can be read from the log alone.
      const seen = sse.data<{ links: NodeLink[] }>("link.quality").slice(-8)
        .flatMap((d) => d.links.filter((x) => x.node_id === "l1"))
        .map((x) =>
          `rtt ${x.rtt_ms} avg ${x.rtt_avg_ms} loss ${x.loss_pct} probe ${x.probe_rtt_ms}/${x.probe_loss_pct}`
        );
      throw new Error(
        `${what}: ${error.message.slice(0, 200)}; last l1 readings: ${seen.join("; ")}`,
      );
    });
    return found!;
  };
  try {
    await t.step("a clean link: small RTT, no loss, the agent's probe and bandwidth", async () => {
      const l = await linkOnStream(
        (l) =>
          l.connected && l.pings >= 4 && l.loss_pct === 0 && l.probe_rtt_ms !== null &&
          l.rx_bps !== null,
        "a clean link",
      );
      assert.ok(l.rtt_avg_ms! < 100, `clean RTT ${l.rtt_avg_ms} ms`);
      assert.ok(l.probe_rtt_ms! < 100, `clean probe RTT ${l.probe_rtt_ms} ms`);
      const list = await hub.admin.links();
      assert.equal(list.ping_ms, 1000);
      assert.equal(list.ping_timeout_ms, 1000);
      assert.equal(list.links.find((x) => x.node_id === "l1")?.connected, true);
    });

    await t.step("150 ms each way: RTT rises above 300 ms, still no loss", async () => {
      proxy.shape.delayMs = 150;
      const l = await linkOnStream(
        (l) => l.rtt_ms !== null && l.rtt_ms >= 300 && (l.probe_rtt_ms ?? 0) >= 300,
        "a slow link",
      );
      assert.ok(l.rtt_ms! < 1000, `slow RTT ${l.rtt_ms} ms stays under the timeout`);
      const now = await hub.admin.links();
      const mine = now.links.find((x) => x.node_id === "l1")!;
      assert.ok(mine.rtt_ms! >= 300);
      assert.equal(mine.loss_pct, 0, "late is not lost while under the ping timeout");
    });

    await t.step(
      "lost chunks retransmitted after 2.5 s: pings and probes count as lost",
      async () => {
        proxy.shape.delayMs = 20;
        proxy.shape.lossRate = 0.3;
        proxy.shape.retransmitMs = 2500;
        const l = await linkOnStream(
          (l) => (l.loss_pct ?? 0) >= 10 && (l.probe_loss_pct ?? 0) > 0,
          "a lossy link",
        );
        assert.ok(proxy.lost > 0);
        assert.ok(l.loss_pct! <= 100);
        // Worst first: the lossy node heads the list.
        const list = await hub.admin.links();
        assert.equal(list.links[0].node_id, "l1");
      },
    );

    await t.step("fleet_link_quality over MCP names the lossy node first", async () => {
      const client = new Client({ name: "link-test", version: "1" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${hub.url}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${hub.adminToken}` } },
        }),
      );
      try {
        const tool = ((await client.listTools()).tools as Tool[]).find((x) =>
          x.name === "fleet_link_quality"
        );
        assert.equal(tool?.annotations?.readOnlyHint, true);
        const r = await client.callTool({ name: "fleet_link_quality", arguments: {} }) as {
          structuredContent: { links: { node_id: string; loss_pct: number }[] };
          isError?: boolean;
        };
        assert.ok(!r.isError);
        assert.equal(r.structuredContent.links[0].node_id, "l1");
        const one = await client.callTool({
          name: "fleet_link_quality",
          arguments: { node: "l1" },
        }) as { structuredContent: { links: unknown[]; history: { ts: number }[] } };
        assert.equal(one.structuredContent.links.length, 1);
        assert.ok(one.structuredContent.history.length >= 1);
      } finally {
        await client.close();
      }
    });

    await t.step("the link heals: loss falls back as the window moves on", async () => {
      proxy.shape.lossRate = 0;
      proxy.shape.delayMs = 0;
      // The 20-ping window (20 s) has to move past the lost pings.
      const l = await linkOnStream(
        (l) => l.loss_pct === 0 && l.pings >= 10 && (l.rtt_avg_ms ?? 1e9) < 100,
        "a healed link (no loss, a small mean round trip)",
        60_000,
      );
      assert.ok(l.connected);
    });

    await t.step("minute history, and its bounds", async () => {
      const h = await hub.admin.linkHistory("l1");
      assert.ok(h.points.length >= 1);
      // The test may straddle a minute: the slow and lossy readings are in one of its minutes.
      const worstRtt = Math.max(...h.points.map((p) => p.rtt_max_ms ?? 0));
      assert.ok(worstRtt >= 300, `the minutes keep the slow pings: ${worstRtt}`);
      assert.ok(h.points.some((p) => (p.loss_pct ?? 0) > 0), "the minutes keep the loss");
      await assert.rejects(
        () => hub.admin.linkHistory("nope"),
        (e) => e instanceof ApiError && e.status === 404,
      );
      await assert.rejects(
        () => hub.admin.linkHistory("l1", { from: 10, to: 5 }),
        (e) => e instanceof ApiError && e.status === 400,
      );
    });
  } finally {
    await sse.close();
    await agent.stop();
    await proxy.close();
    await hub.stop();
  }
});
