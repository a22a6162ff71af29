/**
 * A real hub without S3: `fleet-hub backup list` says S3 is not configured (exit 0, `--json`
 * still prints a parseable `[]`), `backup create` and `backup hub-db` refuse with the same
 * words (exit 1) before asking for anything; the MCP tool `fleet_backup_list` (real SDK client
 * over HTTP) answers the same instead of "0 backup(s)". Nothing is audited: nothing started.
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { hubCli, startHub } from "../helpers/hub.ts";

const SAYS = /S3 is not configured \(set s3: in fleet\.yml or FLEET_S3_\*\)/;

Deno.test({
  name: "backups without S3: the CLI and MCP say so instead of an empty list",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const hub = await startHub();
  const conn = ["--hub", hub.url, "--token", hub.adminToken];
  try {
    await t.step("CLI list: the reason, exit 0; --json keeps stdout parseable", async () => {
      const l = await hubCli(["backup", "list", ...conn]);
      assert.equal(l.code, 0, l.stderr);
      assert.match(l.stdout, SAYS);
      const j = await hubCli(["backup", "list", "--json", ...conn]);
      assert.equal(j.code, 0, j.stderr);
      assert.deepEqual(JSON.parse(j.stdout), []);
      assert.match(j.stderr, SAYS);
    });

    await t.step("CLI create and hub-db: refused with the reason, exit 1", async () => {
      for (const args of [["create", "--all"], ["hub-db"]]) {
        const r = await hubCli(["backup", ...args, ...conn]);
        assert.equal(r.code, 1, `${args}: ${r.stdout}`);
        assert.match(r.stderr, SAYS, args.join(" "));
      }
      const { entries } = await hub.admin.audit({ action: "backup.create" });
      assert.equal(entries.length, 0, "nothing was started");
    });

    await t.step("MCP fleet_backup_list: the reason, no backups", async () => {
      const client = new Client({ name: "backup-unconfigured-test", version: "1" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${hub.url}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${hub.adminToken}` } },
        }),
      );
      try {
        const r = await client.callTool({ name: "fleet_backup_list", arguments: {} }) as {
          isError?: boolean;
          content: { text: string }[];
          structuredContent: { backups: unknown[] };
        };
        assert.ok(!r.isError, JSON.stringify(r.content));
        assert.match(r.content.map((c) => c.text).join("\n"), SAYS);
        assert.deepEqual(r.structuredContent.backups, []);
      } finally {
        await client.close();
      }
    });
  } finally {
    await hub.stop();
  }
});
