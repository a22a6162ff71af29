/**
 * Network tools end to end on real hosts: two network namespaces on 10.231.42.0/24 made by the
 * test, a real agent process inside the first (it reaches the hub on the host's loopback through
 * tests/testbed/netns_bridge.ts), test services and an nftables drop rule in the second. Proves:
 * the LAN scan finds the other host with its MAC and open ports and streams progress; a port
 * scan tells open (with SSH and HTTP banners), closed and filtered apart; bounds (a /16 without
 * force, a public target) are refused; a scan stops at its time limit and says so; the node's
 * sockets list a live listener with its process; each scan is audited. Nothing outside
 * 127.0.0.0/8 and the two namespaces is touched.
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { join } from "node:path";
import { createNetnsPair, type NetnsPair, netnsUnavailable } from "../helpers/netns.ts";
import { type HubProcess, ROOT, startHub } from "../helpers/hub.ts";
import { Child, waitFor } from "../helpers/process.ts";
import { SseClient } from "../helpers/sse.ts";
import {
  CHROMIUM_MISSING,
  launchBrowser,
  login,
  newPage,
  screenshot,
  SKIP_BROWSER,
} from "../helpers/browser.ts";
import { ApiError } from "../../shared/api_client.ts";
import type { LanScanResult, NetworkScan, PortScanResult } from "../../shared/protocol/mod.ts";
import { findExecutable } from "../../agent/collect/sampler.ts";
import { AGENT_V8_FLAGS } from "../../shared/runtime_flags.ts";
import { HUB_PERMISSIONS } from "../../bootstrap/dist.ts";

const SUBNET = "10.231.42";
const SSH_PORT = 2222;
const HTTP_PORT = 8080;
const DROPPED_PORT = 9999;
const CLOSED_PORT = 7;

const missingTools = ["ping", "nft"].filter((t) => !findExecutable(t));
const UNAVAILABLE = netnsUnavailable() ??
  (missingTools.length
    ? `missing ${missingTools.join(", ")}; install with: apt-get install -y iputils-ping nftables`
    : undefined);
if (UNAVAILABLE && Deno.env.get("CI") === "true") {
  throw new Error(`network scan test cannot run in CI: ${UNAVAILABLE}`);
}

const DENO_DIR = Deno.env.get("DENO_DIR") ??
  join(Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/root", ".cache"), "deno");

/** Pipes a unix socket on the host to the hub's TCP port (the namespace's bridge dials it). */
function unixToHub(path: string, hubPort: number): Deno.Listener {
  const listener = Deno.listen({ transport: "unix", path });
  (async () => {
    for await (const conn of listener) {
      (async () => {
        try {
          const up = await Deno.connect({ hostname: "127.0.0.1", port: hubPort });
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
  })().catch(() => {});
  return listener;
}

const NSENTER = findExecutable("nsenter") ?? "nsenter";

function inNs(ns: string, args: string[]): Child {
  return new Child("nsenter", [`--net=/run/netns/${ns}`, ...args], { env: { DENO_DIR } });
}

Deno.test({
  name: "network tools: LAN scan, port scan, bounds, time limit and sockets from a real agent",
  ignore: UNAVAILABLE !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "fleet-netscan-" });
  const children: Child[] = [];
  let net: NetnsPair | undefined;
  let hub: HubProcess | undefined;
  let unix: Deno.Listener | undefined;
  let sse: SseClient | undefined;
  try {
    net = await createNetnsPair({ subnet: SUBNET });
    const { a, b } = net;
    await Deno.mkdir(join(tmp, "hub"));
    const fleetYml = join(tmp, "fleet.yml");
    await Deno.writeTextFile(
      fleetYml,
      `network:\n  wan_targets:\n    - name: test-http\n      url: http://${b.addr}:${HTTP_PORT}/\n` +
        `    - name: dropped\n      host: ${b.addr}\n      port: ${DROPPED_PORT}\n`,
    );
    hub = await startHub({ dataDir: join(tmp, "hub"), args: ["--config", fleetYml] });
    const admin = hub.admin;

    // The hub's port inside namespace a leads to the hub on the host.
    const sock = join(tmp, "hub.sock");
    unix = unixToHub(sock, hub.port);
    const bridge = inNs(a.ns, [
      Deno.execPath(),
      "run",
      "-A",
      join(ROOT, "tests/testbed/netns_bridge.ts"),
      String(hub.port),
      sock,
    ]);
    children.push(bridge);
    await bridge.waitForLine((l) => l === "ready", 60_000);

    // Services on host b, and a port its firewall drops.
    const services = inNs(b.ns, [
      Deno.execPath(),
      "run",
      "-A",
      join(ROOT, "tests/testbed/net_listeners.ts"),
      String(SSH_PORT),
      String(HTTP_PORT),
    ]);
    children.push(services);
    await services.waitForLine((l) => l === "ready", 60_000);
    await net.exec(b, "nft", "add", "table", "inet", "fleettest");
    await net.exec(
      b,
      "nft",
      "add chain inet fleettest input { type filter hook input priority 0 ; }",
    );
    await net.exec(
      b,
      "nft",
      "add",
      "rule",
      "inet",
      "fleettest",
      "input",
      "tcp",
      "dport",
      String(DROPPED_PORT),
      "drop",
    );
    const macB = /link\/ether ([0-9a-f:]{17})/.exec(
      await net.exec(b, "ip", "link", "show", b.iface),
    )![1];

    // A real agent inside namespace a (`env` PATH without ping: the TCP sweep).
    const startNsAgent = async (node: string, env: Record<string, string> = {}) => {
      const token = await admin.createToken({ kind: "node", node_id: node });
      const child = new Child(NSENTER, [
        `--net=/run/netns/${a.ns}`,
        Deno.execPath(),
        "run",
        "--allow-all",
        `--v8-flags=${AGENT_V8_FLAGS}`,
        join(ROOT, "agent/main.ts"),
        "run",
        "--hub",
        `http://127.0.0.1:${hub!.port}`,
        "--token",
        token.token,
        "--state-dir",
        join(tmp, `agent-${node}`),
        "--interval",
        "1s",
        "--tegrastats",
        "off",
        "--nvidia-smi",
        "off",
        "--docker-socket",
        "off",
        "--config",
        join(ROOT, "tests/fixtures/agent-empty.yml"),
      ], { env: { DENO_DIR, ...env } });
      children.push(child);
      return child;
    };
    await startNsAgent("scanner");
    await waitFor(
      async () => (await admin.node("scanner")).control,
      "the agent's control channel",
      60_000,
    );
    sse = await SseClient.connect(hub.url, hub.adminToken);

    await t.step(
      "the LAN scan finds the other host with its MAC and open ports, with progress",
      async () => {
        const scan = await admin.lanScan({
          node: "scanner",
          cidr: `${SUBNET}.0/24`,
          ports: [SSH_PORT, HTTP_PORT],
          timeout_ms: 400,
          time_limit_s: 90,
          wait: true,
        });
        assert.equal(scan.state, "done", scan.error ?? "");
        const result = scan.result as LanScanResult;
        assert.equal(result.stopped, "done");
        assert.equal(result.method, "ping");
        assert.equal(result.probed, 254);
        const other = result.hosts.find((h) => h.ip === b.addr);
        assert.ok(other, `host ${b.addr} not found: ${JSON.stringify(result.hosts)}`);
        assert.equal(other.mac, macB);
        assert.ok(other.seen.includes("arp") && other.seen.includes("ping"), other.seen.join(","));
        assert.deepEqual(other.ports, [SSH_PORT, HTTP_PORT]);
        // A veth MAC is locally administered: no vendor, rather than a wrong one.
        assert.equal(other.vendor, null);
        const self = result.hosts.find((h) => h.ip === a.addr);
        assert.ok(self?.seen.includes("self"));
        assert.equal(self!.fleet_node, "scanner");
        assert.equal(other.fleet_node, null);
        assert.equal(result.hosts.length, 2, JSON.stringify(result.hosts.map((h) => h.ip)));
        // Progress and the end went out on the stream.
        const events = sse!.events.filter((e) => e.event === "network.scan")
          .map((e) => (JSON.parse(e.data) as { scan: NetworkScan }).scan)
          .filter((s) => s.id === scan.id);
        assert.ok(
          events.some((s) => s.state === "running" && s.progress.probed > 0),
          "no progress",
        );
        assert.ok(events.some((s) => s.state === "done" && s.progress.found === 2));
        // Stored: the list has it, the single read has its result.
        const listed = await admin.networkScans({ node: "scanner", kind: "lan" });
        assert.equal(listed[0].id, scan.id);
        assert.equal(listed[0].result, undefined);
        assert.equal(((await admin.networkScan(scan.id)).result as LanScanResult).hosts.length, 2);
      },
    );

    await t.step("without ping the sweep falls back to TCP connects and says so", async () => {
      // PATH without ping (deno and nsenter are started by absolute path).
      await startNsAgent("scanner-tcp", { PATH: "/nonexistent" });
      await waitFor(
        async () => (await admin.node("scanner-tcp")).control,
        "the second agent's control channel",
        60_000,
      );
      const scan = await admin.lanScan({
        node: "scanner-tcp",
        cidr: `${SUBNET}.0/24`,
        ports: [SSH_PORT, HTTP_PORT],
        timeout_ms: 300,
        names: false,
        wait: true,
      });
      assert.equal(scan.state, "done", scan.error ?? "");
      const r = scan.result as LanScanResult;
      assert.equal(r.method, "tcp");
      assert.match(r.note ?? "", /no ping binary/);
      assert.equal(r.probed, 254);
      const other = r.hosts.find((h) => h.ip === b.addr);
      assert.ok(other?.seen.includes("tcp"), JSON.stringify(r.hosts));
      assert.equal(other!.mac, macB);
      assert.deepEqual(other!.ports, [SSH_PORT, HTTP_PORT]);
    });

    await t.step("a port scan tells open (with banners), closed and filtered apart", async () => {
      const scan = await admin.portScan({
        node: "scanner",
        host: b.addr,
        ports: `${CLOSED_PORT},${SSH_PORT},${HTTP_PORT},${DROPPED_PORT}`,
        timeout_ms: 1000,
        wait: true,
      });
      assert.equal(scan.state, "done", scan.error ?? "");
      const r = scan.result as PortScanResult;
      const state = Object.fromEntries(r.ports.map((p) => [p.port, p]));
      assert.equal(state[SSH_PORT].state, "open");
      assert.match(state[SSH_PORT].banner ?? "", /^SSH-2\.0-OpenSSH_9\.2p1/);
      assert.equal(state[HTTP_PORT].state, "open");
      assert.match(state[HTTP_PORT].banner ?? "", /^HTTP\/1\.[01] 200.*fleet-test-http/i);
      assert.equal(state[CLOSED_PORT].state, "closed");
      assert.equal(state[DROPPED_PORT].state, "filtered");
      assert.deepEqual(r.counts, { open: 2, closed: 1, filtered: 1 });
    });

    await t.step("bounds: a /16 needs force, a public target is refused", async () => {
      const big = await admin.lanScan({ node: "scanner", cidr: "10.231.0.0/16" }).catch((e) => e);
      assert.ok(big instanceof ApiError && big.status === 400, String(big));
      assert.match(big.message, /force/);
      const pub = await admin.portScan({ node: "scanner", host: "192.0.2.1", ports: [80] })
        .catch((e) => e);
      assert.ok(pub instanceof ApiError && pub.status === 400, String(pub));
      assert.match(pub.message, /allow_public_targets/);
      const many = await admin.portScan({ node: "scanner", host: b.addr, ports: "1-5000" })
        .catch((e) => e);
      assert.ok(many instanceof ApiError && many.status === 400, String(many));
      // Nothing was started by the refusals.
      assert.equal((await admin.networkScans()).length, 3);
    });

    await t.step("a scan stops at its time limit and says so", async () => {
      const scan = await admin.lanScan({
        node: "scanner",
        cidr: `${SUBNET}.0/24`,
        rate: 5,
        time_limit_s: 1,
        timeout_ms: 200,
        wait: true,
      });
      assert.equal(scan.state, "done");
      assert.equal(scan.stopped, "time_limit");
      const r = scan.result as LanScanResult;
      assert.equal(r.stopped, "time_limit");
      assert.ok(r.probed < r.total, `${r.probed} of ${r.total}`);
    });

    await t.step("the node's sockets list a live listener with its process", async () => {
      const c = await admin.nodeConnections("scanner");
      // The bridge listens on the hub's port inside the namespace; the agent is connected to it.
      const l = c.listening.find((s) => s.local_port === hub!.port && s.proto === "tcp");
      assert.ok(l, JSON.stringify(c.listening));
      assert.equal(l.local, "127.0.0.1");
      assert.equal(l.pid, bridge.proc.pid);
      assert.ok(l.process, "no process name");
      assert.ok(
        c.established.some((s) => s.remote_port === hub!.port && s.remote === "127.0.0.1"),
        JSON.stringify(c.established),
      );
    });

    await t.step("a WAN check times DNS, TCP and HTTP to the configured targets", async () => {
      const scan = await admin.wanCheck({ node: "scanner", timeout_ms: 1000, wait: true });
      assert.equal(scan.state, "done", scan.error ?? "");
      assert.equal(scan.result?.kind, "wan");
      const [http, dropped] = scan.result!.kind === "wan" ? scan.result!.targets : [];
      assert.equal(http.name, "test-http");
      assert.equal(http.ok, true, http.error ?? "");
      assert.equal(http.http_status, 200);
      assert.equal(typeof http.tcp_ms, "number");
      assert.equal(typeof http.http_ms, "number");
      assert.deepEqual(http.addresses, [b.addr]);
      assert.equal(dropped.ok, false);
      assert.match(dropped.error ?? "", /no answer/);
      assert.equal(scan.progress.found, 1);
      const latest = await admin.latestNetworkScan("scanner", "wan");
      assert.equal(latest?.id, scan.id);
    });

    await t.step("MCP: the port scan and node connections tools over the real client", async () => {
      const client = new Client({ name: "netscan-test", version: "1" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${hub!.url}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${hub!.adminToken}` } },
        }),
      );
      try {
        const names = (await client.listTools()).tools.map((x: { name: string }) => x.name);
        for (const n of ["fleet_network_scan", "fleet_port_scan", "fleet_wan_check"]) {
          assert.ok(names.includes(n), n);
        }
        const scan = await client.callTool({
          name: "fleet_port_scan",
          arguments: { node: "scanner", host: b.addr, ports: `${SSH_PORT},${CLOSED_PORT}` },
        }) as { isError?: boolean; content: { text: string }[]; structuredContent?: unknown };
        assert.ok(!scan.isError, scan.content[0]?.text);
        assert.match(scan.content[0].text, /1 open, 1 closed, 0 filtered/);
        assert.match(scan.content[0].text, /SSH-2\.0-OpenSSH/);
        const conns = await client.callTool({
          name: "fleet_node_connections",
          arguments: { node: "scanner" },
        }) as { isError?: boolean; structuredContent?: { listening: { local_port: number }[] } };
        assert.ok(!conns.isError);
        assert.ok(conns.structuredContent!.listening.some((l) => l.local_port === hub!.port));
        const refused = await client.callTool({
          name: "fleet_network_scan",
          arguments: { node: "scanner", cidr: "10.231.0.0/16" },
        }) as { isError?: boolean; content: { text: string }[] };
        assert.equal(refused.isError, true);
        assert.match(refused.content[0].text, /force/);
      } finally {
        await client.close();
      }
    });

    await t.step("every scan is audited", async () => {
      const { entries } = await admin.audit({ action: "network." });
      const actions = entries.map((e) => e.action).sort();
      assert.deepEqual(actions, [
        "network.port_scan",
        "network.port_scan",
        "network.scan",
        "network.scan",
        "network.scan",
        "network.wan_check",
      ]);
      assert.ok(entries.every((e) => e.result === "ok" && e.target?.startsWith("scanner")));
      // The one through MCP says so.
      assert.equal(entries.filter((e) => e.detail?.via === "mcp").length, 1);
    });
    await t.step("CLI: fleet-hub network ports and connections print the results", async () => {
      const cli = async (...args: string[]) => {
        const o = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            ...HUB_PERMISSIONS,
            join(ROOT, "hub/main.ts"),
            "network",
            ...args,
            "--hub",
            hub!.url,
          ],
          env: { FLEET_TOKEN: hub!.adminToken },
          stdin: "null",
        }).output();
        const text = (b: Uint8Array) => new TextDecoder().decode(b);
        return { code: o.code, out: text(o.stdout) + text(o.stderr) };
      };
      const ports = await cli("ports", "scanner", b.addr, `${SSH_PORT},${CLOSED_PORT}`);
      assert.equal(ports.code, 0, ports.out);
      assert.match(ports.out, /1 open, 1 closed, 0 filtered of 2/);
      assert.match(ports.out, new RegExp(`${SSH_PORT}\\s+open\\s+[\\d.]+ ms\\s+SSH-2\\.0-OpenSSH`));
      const conns = await cli("connections", "scanner");
      assert.equal(conns.code, 0);
      assert.match(conns.out, new RegExp(`tcp\\s+127\\.0\\.0\\.1:${hub!.port}\\s+`));
      // Checked before the hub is asked: a usage error that names the flag.
      const refused = await cli("scan", "scanner", "10.231.0.0/16");
      assert.equal(refused.code, 2, refused.out);
      assert.match(refused.out, /--force/);
    });

    await t.step({
      name: "UI: a port scan from the form, a LAN result with Onboard, the node's services",
      ignore: SKIP_BROWSER,
      fn: async () => {
        if (CHROMIUM_MISSING && Deno.env.get("CI") === "true") throw new Error(CHROMIUM_MISSING);
        const browser = await launchBrowser();
        try {
          const g = await newPage(browser, hub!.url);
          const page = g.page;
          await login(page, hub!.adminToken);
          await page.goto(`${hub!.url}/#/network`);
          await page.locator("[data-testid=scan-form]").waitFor({ timeout: 15_000 });
          // A port scan run from the form ends on the page through the stream.
          await page.locator("[data-testid=tool-port]").click();
          await page.locator("[data-testid=scan-host]").fill(b.addr);
          await page.locator("[data-testid=scan-ports]").fill(`${SSH_PORT},${DROPPED_PORT}`);
          await page.locator("[data-testid=scan-run]").click();
          await page.locator(
            `[data-testid=scan-result] [data-testid=port-row][data-port="${SSH_PORT}"]` +
              `[data-state=open]`,
          ).waitFor({ timeout: 20_000 });
          const filtered = page.locator(
            `[data-testid=port-row][data-port="${DROPPED_PORT}"][data-state=filtered]`,
          );
          await filtered.waitFor({ timeout: 5_000 });
          const banner = await page.locator(
            `[data-testid=port-row][data-port="${SSH_PORT}"] .netscan-banner`,
          ).textContent();
          assert.match(banner ?? "", /^SSH-2\.0-OpenSSH/);
          // The first LAN scan: the other host, not in the fleet, can be onboarded.
          await page.locator("[data-testid=scan-row]").filter({ hasText: `${SUBNET}.0/24` }).last()
            .click();
          const other = page.locator(`[data-testid=lan-host][data-ip="${b.addr}"]`);
          await other.waitFor({ timeout: 10_000 });
          assert.match((await other.textContent()) ?? "", new RegExp(macB));
          await screenshot(page, "network-scans-lan");
          await other.locator("[data-testid=onboard]").click();
          const line = await page.locator("[data-testid=onboard-line]").textContent({
            timeout: 10_000,
          });
          assert.match(
            line ?? "",
            /curl -fsSL http:\/\/127\.0\.0\.1:\d+\/install\.sh \| sudo sh -s -- --token \S+/,
          );
          await page.keyboard.press("Escape");
          // The node panel reads the node's sockets.
          await page.goto(`${hub!.url}/#/canvas`);
          await page.locator("[data-testid=node-card][data-node-id=scanner]").click();
          await page.locator(
            `[data-testid=panel-services] [data-testid=listen-row][data-port="${hub!.port}"]`,
          ).waitFor({ timeout: 15_000 });
          await screenshot(page, "network-scans-services");
          g.assertClean();
          await g.close();
        } finally {
          await browser.close();
        }
      },
    });
  } finally {
    await sse?.close();
    for (const c of children.reverse()) await c.stop("SIGKILL").catch(() => {});
    unix?.close();
    await hub?.stop().catch(() => {});
    await net?.remove();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
