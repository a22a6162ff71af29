// The agent's reader of simple agent.yml files (agent/config_simple.ts) against the full path
// (YAML parser + the strict zod schema): whatever it accepts, the full path reads the same; what
// the full path refuses, it never accepts. And install's own file takes the simple path.
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { readSimpleAgentFile } from "../../agent/config_simple.ts";
import { parseAgentFile } from "../../agent/config_file.ts";

function full(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: parseAgentFile(text, "agent.yml") };
  } catch {
    return { ok: false };
  }
}

const VALUES = [
  "http://control:8765",
  "https://hub.example.com/fleet/",
  "http://[::1]:8765",
  "http:",
  "http://",
  "control:8765",
  "not-a-url",
  "fcn_AbC-_09xyz",
  "jetson-01",
  "01-node",
  "node.with.dots",
  "-bad",
  "a".repeat(64),
  "5s",
  "500ms",
  "0s",
  "48h",
  "1.5s",
  "5",
  "0",
  "0x1F",
  "0o17",
  "1e3",
  "1.",
  "12abc",
  "true",
  "True",
  "false",
  "null",
  "NULL",
  "on",
  "off",
  "yes",
  "no",
  "debug",
  "info",
  "json",
  "text",
  "/var/lib/fleet-agent",
  "/var/run/docker.sock",
  "host",
  "a:b",
  "a:",
  "a,b",
  "x=y",
  "user@host",
  "~",
  "~x",
  "_x",
];

const KEYS = [
  "hub",
  "token",
  "node_id",
  "interval",
  "state_dir",
  "root",
  "tegrastats",
  "nvidia_smi",
  "docker_socket",
  "docker_network",
  "log_level",
  "log_format",
  "jobs",
  "control",
  "essential_containers",
  "unknown_key",
];

function agrees(text: string): void {
  const simple = readSimpleAgentFile(text);
  const reference = full(text);
  if (simple === undefined) return; // the full path decides, and words the errors
  assert.ok(reference.ok, `accepted what the full path refuses:\n${text}`);
  assert.deepEqual(simple, reference.value, text);
}

Deno.test("simple agent.yml reader agrees with YAML + schema", async (t) => {
  await t.step("the file install writes takes the simple path", () => {
    const config = {
      hub: "http://control:8765",
      token: "fcn_" + "Ab-_9".repeat(8),
      node_id: "jetson-01",
      state_dir: "/var/lib/fleet-agent",
    };
    const text = `# Written by 'fleet-agent install'. Holds this node's token: keep it 0600.\n${
      stringify(config)
    }`;
    assert.deepEqual(readSimpleAgentFile(text), config);
    agrees(text);
    assert.deepEqual(readSimpleAgentFile("# only a comment\n\n"), {});
    assert.deepEqual(readSimpleAgentFile("interval: 5s  # every five seconds\n"), {
      interval: 5000,
    });
  });

  await t.step("every key with every value", () => {
    let simple = 0;
    for (const key of KEYS) {
      for (const value of VALUES) {
        for (const line of [`${key}: ${value}`, `${key}:  ${value}  # c`, `${key}: "${value}"`]) {
          agrees(line + "\n");
          if (readSimpleAgentFile(line)) simple++;
        }
      }
    }
    assert.ok(simple > 100, `${simple} files took the simple path`);
  });

  await t.step("shapes it leaves to the full parser", () => {
    for (
      const text of [
        "hub: http://a:1\nhub: http://b:1\n",
        "spool:\n  max_size: 1GB\n",
        "essential_containers:\n  - portainer_agent\n",
        "essential_containers: [a]\n",
        "  hub: http://a:1\n",
        "hub:\thttp://a:1\n",
        "hub: http://a:1\r\n",
        "hub:\n",
        "hub: &a http://a:1\n",
        "---\nhub: http://a:1\n",
        "hub: http://a:1 #c\ntoken: |\n  x\n",
        "\uFEFFhub: http://a:1\n",
        "hub: 'http://a:1'\n",
        "hub:http://a:1\n",
      ]
    ) {
      assert.equal(readSimpleAgentFile(text), undefined, text);
      agrees(text);
    }
  });
});
