/**
 * Operator mistakes at the `fleet-hub` command line get one clear line and the right exit code
 * (2 usage or config, 1 refused), before anything is created or printed that would mislead.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { hubCli, startHub } from "../helpers/hub.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("CLI errors: busy port, missing database, bad ids and flags, bad hub URL, refused MCP token", async (t) => {
  const hub = await startHub();
  const conn = ["--hub", hub.url, "--data-dir", hub.dataDir];
  const scratch = await Deno.makeTempDir({ prefix: "fleet-cli-errors-" });
  try {
    await t.step("serve on a busy port: exit 2, one line, no admin token minted", async () => {
      const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (busy.addr as Deno.NetAddr).port;
      const dir = join(scratch, "busy");
      try {
        const r = await hubCli([
          "serve",
          "--host",
          "127.0.0.1",
          "--port",
          `${port}`,
          "--data-dir",
          dir,
        ]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(`port ${port} is in use \\(another hub running\\? choose --port\\)`),
        );
        assert.doesNotMatch(r.stderr, /Uncaught|^\s+at /m);
        assert.doesNotMatch(r.stdout, /Admin token/);
        assert.equal(
          await exists(join(dir, "admin.token")),
          false,
          "no token for a hub that never ran",
        );
      } finally {
        busy.close();
      }
    });

    await t.step("token commands refuse a data dir without a hub database", async () => {
      const typo = join(scratch, "typo");
      const made = await hubCli(["token", "create", "--kind", "viewer", "--data-dir", typo]);
      assert.equal(made.code, 1, made.stderr);
      assert.match(
        made.stderr,
        /no hub database in .*typo \(start the hub once with serve --data-dir/,
      );
      assert.equal(made.stdout, "", "no token printed");
      assert.equal(await exists(typo), false, "no directory made");
      const list = await hubCli(["token", "list", "--data-dir", join(scratch, "nowhere")]);
      assert.equal(list.code, 1);
      assert.doesNotMatch(list.stdout, /ID\s+KIND/);
      // On a real database: the table, and no log lines in the output.
      const ok = await hubCli(["token", "list", "--data-dir", hub.dataDir]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^ID\s+KIND/);
      assert.doesNotMatch(ok.stdout + ok.stderr, /"msg"|migrated/);
    });

    await t.step("bad ids, enums and flags are usage errors named once", async () => {
      const state = await hubCli(["job", "list", "--state", "bogus", ...conn]);
      assert.equal(state.code, 2, state.stderr);
      assert.match(state.stderr, /--state: not a job state: bogus \(one of pending/);
      const cancel = await hubCli(["job", "cancel", "abc", ...conn]);
      assert.equal(cancel.code, 2, cancel.stderr);
      assert.match(cancel.stderr, /job cancel: ID is a job number/);
      assert.doesNotMatch(cancel.stderr, /NaN/);
      const minutes = await hubCli([
        "roamer",
        "assign",
        "r1",
        "--cluster",
        "c",
        "--minutes",
        "abc",
        ...conn,
      ]);
      assert.equal(minutes.code, 2, minutes.stderr);
      assert.match(minutes.stderr, /--minutes: not a whole number of minutes: abc/);
      const scan = await hubCli(["network", "scan", "agx-01", "10.0.0.0/20", ...conn]);
      assert.equal(scan.code, 2, scan.stderr);
      assert.match(scan.stderr, /need --force/);
      assert.doesNotMatch(scan.stderr, /force: true/);
      const ports = await hubCli(["network", "ports", "agx-01", "10.0.0.1", "1-10000", ...conn]);
      assert.equal(ports.code, 2, ports.stderr);
      assert.match(ports.stderr, /--force/);
      const submit = await hubCli(["job", "submit", ...conn]);
      assert.equal(submit.code, 2, submit.stderr);
      assert.match(submit.stderr, /--template T, --process CMD or --image IMG/);
      // The hub's own field errors are not printed twice.
      const limit = await hubCli(["job", "list", "--limit", "100000", ...conn]);
      assert.equal(limit.code, 1, limit.stderr);
      const detail = /limit: [^(;]+/.exec(limit.stderr)?.[0];
      assert.ok(detail, limit.stderr);
      assert.equal(limit.stderr.split(detail.trim()).length - 1, 1, limit.stderr);
    });

    await t.step("--hub without http:// is a usage error saying so", async () => {
      const r = await hubCli(["job", "list", "--hub", "127.0.0.1:19555", "--token", "x"]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /needs http:\/\/ or https:\/\/ \(e\.g\. http:\/\/127\.0\.0\.1:19555\)/,
      );
    });

    await t.step("mcp with a token the hub refuses exits 1 at once", async () => {
      const r = await hubCli(["mcp", "--hub", hub.url, "--token", "fca_bad"]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /the hub refused this token \(401\)/);
    });
  } finally {
    await hub.stop();
    await Deno.remove(scratch, { recursive: true });
  }
});

Deno.test("fleet-agent: uninstall, status and recover answer --help (exit 0)", async () => {
  for (const command of ["uninstall", "status", "recover"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(import.meta.dirname!, "../../agent/main.ts"), command, "--help"],
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, new RegExp(`^Usage: fleet-agent ${command}`), text);
    assert.doesNotMatch(text, /Unknown option/);
  }
});
