/**
 * The network tools' parsers and bounds on real text: `/proc/net/{tcp,tcp6,udp}` lines as the
 * kernel writes them, `/proc/net/arp`, CIDR and port-list math, private ranges, and MAC vendors
 * from the kept IEEE OUI package (a Jetson's NVIDIA prefix).
 */
import assert from "node:assert/strict";
import { decodeAddress, parseProcNet } from "../../agent/network/sockets.ts";
import { parseArpTable } from "../../agent/network/neighbours.ts";
import {
  cidrHosts,
  expandPorts,
  isPrivateAddress,
  isPrivateCidr,
  parseCidr,
} from "../../shared/protocol/mod.ts";
import { macVendor } from "../../hub/network/oui.ts";
import { printConnections } from "../../hub/cli/network.ts";

// Captured from a Linux 6.1 host (sshd on 22, a client connection, a TIME_WAIT).
const TCP =
  `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 18046 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D3B2 01 00000000:00000000 00:00000000 00000000  1000        0 55121 1 0000000000000000 20 4 30 10 -1
   2: 0F02000A:0016 0202000A:C35A 06 00000000:00000000 03:00000fd4 00000000     0        0 0 3 0000000000000000
`;
const TCP6 =
  `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 18048 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:D3B4 01 00000000:00000000 00:00000000 00000000     0        0 55130 1 0000000000000000 20 4 30 10 -1
`;
const UDP =
  `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 17201 2 0000000000000000 0
`;
const ARP = `IP address       HW type     Flags       HW address            Mask     Device
10.231.42.2      0x1         0x2         4a:9e:13:0c:77:01     *        fvabc123a
10.231.42.9      0x1         0x0         00:00:00:00:00:00     *        fvabc123a
192.168.1.1      0x1         0x2         00:04:4B:12:34:56     *        eth0
`;

Deno.test("network parsers and bounds", async (t) => {
  await t.step("/proc/net/tcp: states, addresses, ports, inodes", () => {
    const s = parseProcNet(TCP, "tcp");
    assert.deepEqual(s[0], {
      proto: "tcp",
      state: "LISTEN",
      local: "0.0.0.0",
      local_port: 22,
      remote: "0.0.0.0",
      remote_port: 0,
      inode: 18046,
    });
    assert.equal(s[1].state, "ESTABLISHED");
    assert.equal(s[1].local, "127.0.0.1");
    assert.equal(s[1].local_port, 8080);
    assert.equal(s[1].remote_port, 54194);
    assert.equal(s[2].state, "TIME_WAIT");
    assert.equal(s[2].local, "10.0.2.15");
  });

  await t.step("/proc/net/tcp6 and udp", () => {
    const s = parseProcNet(TCP6, "tcp6");
    assert.equal(s[0].local, "::1");
    assert.equal(s[0].state, "LISTEN");
    assert.equal(s[1].local, "::ffff:127.0.0.1");
    assert.equal(decodeAddress("00000000000000000000000000000000"), "::");
    assert.equal(decodeAddress("B80D0120000000000000000001000000"), "2001:db8::1");
    const u = parseProcNet(UDP, "udp");
    assert.equal(u[0].state, "LISTEN");
    assert.equal(u[0].local, "127.0.0.53");
    assert.equal(u[0].local_port, 53);
  });

  await t.step("/proc/net/arp: complete entries only, MACs lower-cased", () => {
    assert.deepEqual(parseArpTable(ARP), [
      { ip: "10.231.42.2", mac: "4a:9e:13:0c:77:01", device: "fvabc123a" },
      { ip: "192.168.1.1", mac: "00:04:4b:12:34:56", device: "eth0" },
    ]);
  });

  await t.step("CIDRs, ports and private ranges", () => {
    const c = parseCidr("10.231.42.77/24")!;
    assert.equal(c.hosts, 254);
    const hosts = [...cidrHosts(c)];
    assert.equal(hosts[0], "10.231.42.1");
    assert.equal(hosts.at(-1), "10.231.42.254");
    assert.equal(parseCidr("10.0.0.0/16")!.hosts, 65534);
    assert.equal(parseCidr("10.0.0.1/32")!.hosts, 1);
    assert.equal(parseCidr("10.0.0.256/24"), null);
    assert.deepEqual(expandPorts("80, 22,8000-8002,22", 4096), [22, 80, 8000, 8001, 8002]);
    assert.throws(() => expandPorts("1-5000", 4096), /more than 4096/);
    assert.throws(() => expandPorts("http", 4096), /"http" is not a port/);
    for (const ip of ["10.1.2.3", "172.31.0.1", "192.168.0.9", "127.0.0.1", "fd00::1", "fe80::1"]) {
      assert.ok(isPrivateAddress(ip), ip);
    }
    for (const ip of ["8.8.8.8", "172.32.0.1", "192.0.2.1", "2001:db8::1"]) {
      assert.ok(!isPrivateAddress(ip), ip);
    }
    assert.ok(isPrivateCidr(parseCidr("192.168.0.0/16")!));
    assert.ok(!isPrivateCidr(parseCidr("172.0.0.0/8")!));
  });

  await t.step("MAC vendors come from the kept IEEE OUI registry", async () => {
    assert.equal(await macVendor("00:04:4b:12:34:56"), "NVIDIA");
    assert.equal(await macVendor("48:B0:2D:00:00:01"), "NVIDIA Corporation");
    // Locally administered (veth, VMs, random): no vendor rather than a wrong one.
    assert.equal(await macVendor("4a:9e:13:0c:77:01"), null);
  });
});

Deno.test("network connections table: established rows show the full local address", () => {
  const sock = (local: string, port: number, remote: string, rport: number, state: string) => ({
    proto: "tcp" as const,
    state,
    local,
    local_port: port,
    remote,
    remote_port: rport,
    pid: 1,
    process: "agent",
  });
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    printConnections("agx-01", {
      at: 0,
      listening: [sock("0.0.0.0", 22, "0.0.0.0", 0, "LISTEN")],
      established: [sock("10.0.0.5", 6800, "10.0.0.9", 51234, "ESTABLISHED")],
      other: {},
      truncated: false,
      processes_complete: true,
    });
  } finally {
    console.log = log;
  }
  const text = lines.join("\n");
  assert.match(text, /^tcp\s+10\.0\.0\.5:6800\s+10\.0\.0\.9:51234\s+agent \(1\)$/m, text);
  assert.match(text, /^tcp\s+0\.0\.0\.0:22\s+agent \(1\)$/m, text);
});
