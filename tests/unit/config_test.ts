/** Hub and agent configuration: precedence, YAML errors with key and line, durations. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { HUB_SETTINGS, loadHubConfig } from "../../hub/core/config.ts";
import { AGENT_SETTINGS, loadAgentConfig } from "../../agent/config.ts";
import { ConfigError } from "../../shared/yaml_config.ts";
import { formatDuration, parseDuration, parseSize } from "../../shared/duration.ts";
import { MIGRATIONS } from "../../hub/core/migrations.ts";
import { SERIES } from "../../shared/metrics.ts";

async function withYaml<T>(text: string, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "cfg-" });
  try {
    const file = join(dir, "fleet.yml");
    await Deno.writeTextFile(file, text);
    return await fn(file);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("hub config: flags beat env beat fleet.yml beat defaults", async () => {
  await withYaml(
    "hub:\n  port: 7000\n  host: 10.0.0.1\nstatus:\n  degraded_after: 20s\n",
    async (file) => {
      const fromFile = await loadHubConfig({ config: file }, {});
      assert.equal(fromFile.port, 7000);
      assert.equal(fromFile.host, "10.0.0.1");
      assert.equal(fromFile.degradedAfterMs, 20_000);
      assert.equal(fromFile.offlineAfterMs, 60_000, "default");
      assert.equal(fromFile.rawRetentionMs, 48 * 3_600_000, "default 48h");
      assert.equal(fromFile.configFile, file);
      const fromEnv = await loadHubConfig({ config: file }, { FLEET_PORT: "7100" });
      assert.equal(fromEnv.port, 7100);
      const fromFlag = await loadHubConfig({ config: file, port: "7200" }, { FLEET_PORT: "7100" });
      assert.equal(fromFlag.port, 7200);
      assert.equal(fromFlag.host, "10.0.0.1");
    },
  );
});

Deno.test("hub config: defaults without a file; FLEET_CONFIG names the file", async () => {
  const d = await loadHubConfig({ config: undefined }, { FLEET_CONFIG: undefined });
  assert.equal(d.port, 8765);
  assert.equal(d.dataDir, "./data");
  await withYaml("hub:\n  port: 7300\n", async (file) => {
    assert.equal((await loadHubConfig({}, { FLEET_CONFIG: file })).port, 7300);
  });
  await assert.rejects(() => loadHubConfig({ config: "/nonexistent/fleet.yml" }, {}), /not found/);
});

Deno.test("hub config: errors name the key and the line; bad flags and env are named", async () => {
  const cases: [string, RegExp][] = [
    ["hub:\n  port: 80\n  porrt: 81\n", /fleet\.yml:3: hub\.porrt: unknown key/],
    ["stream:\n  replay_events: lots\n", /fleet\.yml:2: stream\.replay_events/],
    [
      "roamers:\n  nodes: [a]\nclusters:\n  - id: c\n    nodes: [a]\n",
      /a is a roamer and a member of cluster c/,
    ],
    ["status:\n  degraded_after: 1m\n  offline_after: 30s\n", /must be longer than the degraded/],
  ];
  for (const [yaml, message] of cases) {
    await withYaml(yaml, async (file) => {
      await assert.rejects(() => loadHubConfig({ config: file }, {}), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, message);
        return true;
      });
    });
  }
  await assert.rejects(() => loadHubConfig({ port: "http" }, {}), /--port: not a valid port/);
  await assert.rejects(
    () => loadHubConfig({}, { FLEET_RETENTION_RAW: "soon" }),
    /FLEET_RETENTION_RAW: not a duration/,
  );
});

Deno.test("every hub and agent setting has a flag and a FLEET_ env twin", () => {
  for (const s of [...HUB_SETTINGS, ...AGENT_SETTINGS]) {
    assert.match(s.env, /^FLEET_[A-Z_]+$/, s.flag);
    assert.match(s.flag, /^[a-z][a-z-]+$/, s.env);
  }
});

Deno.test("agent config: required hub and token, YAML file, precedence", async () => {
  await assert.rejects(() => loadAgentConfig({ config: "/nonexistent.yml" }, {}), /cannot read/);
  await withYaml(
    "hub: http://control:8765\ntoken: fcn_abc\ninterval: 10s\nspool:\n  max_size: 8MB\n",
    async (file) => {
      const c = await loadAgentConfig({ config: file }, {});
      assert.equal(c.hub, "http://control:8765");
      assert.equal(c.intervalMs, 10_000);
      assert.equal(c.spoolMaxBytes, 8 * 1024 * 1024);
      assert.equal(c.tegrastats, undefined);
      const o = await loadAgentConfig({ config: file, interval: "2s", tegrastats: "off" }, {
        FLEET_INTERVAL: "3s",
      });
      assert.equal(o.intervalMs, 2000);
      assert.equal(o.tegrastats, false);
    },
  );
  await withYaml("hub: http://control:8765\ntokn: x\n", async (file) => {
    await assert.rejects(() => loadAgentConfig({ config: file }, {}), /:2: tokn: unknown key/);
  });
  await withYaml("interval: 5s\n", async (file) => {
    await assert.rejects(() => loadAgentConfig({ config: file }, {}), /--hub is required/);
  });
});

Deno.test("durations and sizes", () => {
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("5s"), 5000);
  assert.equal(parseDuration("48h"), 172_800_000);
  assert.equal(parseDuration("30d"), 2_592_000_000);
  assert.equal(parseDuration(5), 5000);
  assert.equal(parseDuration("soon"), undefined);
  assert.equal(parseSize("64MB"), 64 * 1024 * 1024);
  assert.equal(parseSize("512k"), 512 * 1024);
  assert.equal(parseSize("12 parsecs"), undefined);
  assert.equal(formatDuration(172_800_000), "2d");
  assert.equal(formatDuration(1500), "1500ms");
});

Deno.test("the charted series match the rollup columns of migration 1", () => {
  for (const s of SERIES) assert.ok(MIGRATIONS[0].includes(`${s}_min REAL`), s);
});

Deno.test("fleet.example.yml is a valid config", async () => {
  const c = await loadHubConfig({
    config: new URL("../../fleet.example.yml", import.meta.url).pathname,
  }, {});
  assert.equal(c.port, 8765);
  assert.deepEqual(c.inventory.clusters[0].nodes, ["agx-01", "agx-02"]);
  assert.deepEqual(c.inventory.roamers, ["agx-04", "agx-05", "agx-06"]);
  assert.deepEqual(Object.keys(c.inventory.templates), ["sdxl", "tts", "disk-report"]);
  assert.equal(c.inventory.templates.sdxl.env.STEPS, "30");
  assert.equal(c.inventory.templates.sdxl.timeout, 15 * 60_000);
  assert.equal(c.jobLeaseMs, 5 * 60_000);
});

Deno.test("the start task runs the hub with the same V8 flags as tests and binaries", async () => {
  const { HUB_V8_FLAGS } = await import("../../shared/runtime_flags.ts");
  const deno = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.ok(deno.tasks.start.includes(`--v8-flags=${HUB_V8_FLAGS}`), deno.tasks.start);
});

/** A "billion laughs" file: nine anchors, each alias list nine times the one before. */
function aliasBomb(): string {
  const names = "abcdefghi";
  const lines = [`${names[0]}: &${names[0]} [lol, lol, lol, lol, lol, lol, lol, lol, lol]`];
  for (let i = 1; i < names.length; i++) {
    lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(", ")}]`);
  }
  return lines.join("\n") + "\n";
}

Deno.test("fleet.yml and agent.yml: alias bombs, broken aliases and huge files are ConfigErrors with file and line", async () => {
  const cases: [string, RegExp][] = [
    [aliasBomb(), /fleet\.yml:\d+: alias \*\w: aliases expand to more than 10000 values/],
    ["hub: *nowhere\n", /fleet\.yml:1: alias \*nowhere has no anchor/],
    ["nodes: &n\n  - *n\n", /fleet\.yml:2: alias \*n is inside the node it names/],
    ["#".repeat(1_048_577), /fleet\.yml: larger than 1048576 bytes/],
  ];
  for (const [yaml, message] of cases) {
    await withYaml(yaml, async (file) => {
      for (const load of [loadHubConfig, loadAgentConfig]) {
        await assert.rejects(() => load({ config: file }, {}), (e: unknown) => {
          assert.ok(e instanceof ConfigError, `${load.name}: ${e}`);
          assert.match(e.message, message);
          return true;
        });
      }
    });
  }
  // Aliases within the bound still work.
  await withYaml(
    "templates:\n  a:\n    command: echo a\n    env: &env {A: 1, B: 2}\n  b:\n    command: echo b\n" +
      "    env: *env\n",
    async (file) => {
      const c = await loadHubConfig({ config: file }, {});
      assert.deepEqual(c.inventory.templates.b.env, { A: "1", B: "2" });
    },
  );
  // A device that never ends is refused at the cap, not read forever.
  await assert.rejects(() => loadHubConfig({ config: "/dev/zero" }, {}), /larger than 1048576/);
});

Deno.test("hub config: repeated ids and a zero or tiny max_body are refused with key and line", async () => {
  const cases: [string, RegExp][] = [
    [
      "nodes:\n  - id: agx-01\n  - id: agx-02\n  - id: agx-01\n",
      /fleet\.yml:4: nodes\.2\.id: node agx-01 is listed twice/,
    ],
    [
      "clusters:\n  - id: c\n  - id: c\n",
      /fleet\.yml:3: clusters\.1\.id: cluster c is listed twice/,
    ],
    ["roamers:\n  nodes: [r1, r2, r1]\n", /fleet\.yml:2: roamers\.nodes\.2: roamer r1 is listed/],
    ["ingest:\n  max_body: 0\n", /fleet\.yml:2: ingest\.max_body: must be more than 0/],
    ["ingest:\n  max_body: 100\n", /fleet\.yml:2: ingest\.max_body: must be at least 1024 bytes/],
    ["status:\n  check_every: 0s\n", /fleet\.yml:2: status\.check_every: must be more than 0/],
  ];
  for (const [yaml, message] of cases) {
    await withYaml(yaml, async (file) => {
      await assert.rejects(() => loadHubConfig({ config: file }, {}), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, message);
        return true;
      });
    });
  }
  await assert.rejects(
    () => loadHubConfig({ config: undefined, "max-body": "100" }, { FLEET_CONFIG: undefined }),
    /--max-body \/ FLEET_MAX_BODY: 100 bytes is below/,
  );
});

Deno.test("hub config: UI sessions (idle, lifetime) and the public origin", async () => {
  const dflt = await loadHubConfig({}, {});
  assert.equal(dflt.sessionIdleMs, 12 * 3_600_000);
  assert.equal(dflt.sessionLifetimeMs, 7 * 86_400_000);
  assert.equal(dflt.publicOrigin, undefined);
  await withYaml(
    "sessions:\n  idle: 30m\n  lifetime: 1d\n  public_origin: https://fleet.lab/\n",
    async (file) => {
      const c = await loadHubConfig({ config: file }, {});
      assert.equal(c.sessionIdleMs, 30 * 60_000);
      assert.equal(c.sessionLifetimeMs, 86_400_000);
      assert.equal(c.publicOrigin, "https://fleet.lab", "normalised to an origin");
    },
  );
  for (const bad of ["ftp://fleet.lab", "https://fleet.lab/ui", "not a url"]) {
    await assert.rejects(
      () => loadHubConfig({ "public-origin": bad }, {}),
      (e: unknown) => e instanceof ConfigError && /public origin/.test(e.message),
      bad,
    );
  }
});

Deno.test("hub config: --demo without a chosen host listens on loopback only", async () => {
  await withYaml("clusters: []\n", async (file) => {
    const demo = await loadHubConfig({ config: file, demo: "3" }, {});
    assert.equal(demo.host, "127.0.0.1");
    assert.equal(demo.demoLoopback, true, "the caller prints how to expose it");
    const plain = await loadHubConfig({ config: file }, {});
    assert.equal(plain.host, "0.0.0.0", "a real hub still listens on every interface");
    assert.ok(!plain.demoLoopback);
    const byFlag = await loadHubConfig({ config: file, demo: "3", host: "0.0.0.0" }, {});
    assert.equal(byFlag.host, "0.0.0.0");
    assert.ok(!byFlag.demoLoopback);
    const byEnv = await loadHubConfig({ config: file }, { FLEET_DEMO: "2", FLEET_HOST: "::" });
    assert.equal(byEnv.host, "::");
  });
  await withYaml("hub:\n  host: 0.0.0.0\n", async (file) => {
    const byFile = await loadHubConfig({ config: file, demo: "3" }, {});
    assert.equal(byFile.host, "0.0.0.0");
    assert.ok(!byFile.demoLoopback);
  });
});

Deno.test("log format: --log-format, FLEET_LOG_FORMAT and fleet.yml/agent.yml resolve", async () => {
  await withYaml("hub:\n  log_format: json\n", async (file) => {
    assert.equal((await loadHubConfig({ config: file }, {})).logFormat, "json");
    assert.equal(
      (await loadHubConfig({ config: file }, { FLEET_LOG_FORMAT: "text" })).logFormat,
      "text",
    );
    assert.equal(
      (await loadHubConfig({ config: file, "log-format": "text" }, {})).logFormat,
      "text",
    );
    await assert.rejects(
      () => loadHubConfig({ config: file, "log-format": "xml" }, {}),
      (e) => e instanceof ConfigError && /--log-format/.test(e.message),
    );
  });
  const agent = await loadAgentConfig(
    { hub: "http://h:1", token: "t", config: "/nonexistent-ok" },
    {},
  ).catch(() => undefined);
  assert.equal(agent, undefined, "a missing explicit agent.yml is still an error");
  await withYaml("log_format: text\n", async (file) => {
    const a = await loadAgentConfig({ hub: "http://h:1", token: "t", config: file }, {});
    assert.equal(a.logFormat, "text");
    const b = await loadAgentConfig(
      { hub: "http://h:1", token: "t", config: file, "log-format": "json" },
      {},
    );
    assert.equal(b.logFormat, "json");
  });
});

Deno.test("hub config: the ingest parse thread's size, or off, by flag, env and fleet.yml", async () => {
  assert.equal((await loadHubConfig({}, {})).ingestParseThreadBytes, 16 * 1024, "default 16KB");
  assert.equal(
    (await loadHubConfig({ "ingest-parse-thread": "off" }, {})).ingestParseThreadBytes,
    0,
  );
  assert.equal(
    (await loadHubConfig({}, { FLEET_INGEST_PARSE_THREAD: "64KB" })).ingestParseThreadBytes,
    64 * 1024,
  );
  for (const [yaml, bytes] of [["off", 0], ["1MB", 1024 * 1024]] as const) {
    await withYaml(`ingest:\n  parse_thread: ${yaml}\n`, async (file) => {
      assert.equal((await loadHubConfig({ config: file }, {})).ingestParseThreadBytes, bytes);
    });
  }
  await assert.rejects(
    () => loadHubConfig({ "ingest-parse-thread": "0" }, {}),
    /--ingest-parse-thread: not a size: "0" \(e\.g\. 1MB, or off\)/,
  );
  await withYaml("ingest:\n  parse_thread: never\n", async (file) => {
    await assert.rejects(
      () => loadHubConfig({ config: file }, {}),
      /fleet\.yml:2: ingest\.parse_thread/,
    );
  });
});
