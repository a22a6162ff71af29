/**
 * `fleet-hub token create|list|revoke`: token administration straight on the database file, so
 * it works with the hub stopped or running (a running hub sees the change on its next request).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { openDatabase, retryBusy } from "../core/db.ts";
import { createToken } from "../onboarding/service.ts";
import { getTokenRow, listTokenRows, revokeToken, tokenInfo } from "../core/store.ts";
import { endSessionsOfToken } from "../core/store.ts";
import { insertAudit } from "../core/store.ts";
import { HttpProblem } from "../core/errors.ts";

/** Who the audit log names for token changes made with this command on the control box. */
const CLI_ACTOR = { name: "fleet-hub token (local CLI)", kind: "cli", token_id: null };
import { NodeId, type TokenCreated, TokenKind } from "../../shared/protocol/mod.ts";
import { EXIT_CODES_HELP, RefusedError, UsageError } from "../../shared/cli.ts";
import { parseDuration } from "../../shared/duration.ts";
import { setLogLevel } from "../../shared/log.ts";

/** Help text of `token`. */
export const TOKEN_HELP = `Usage: fleet-hub token <command> [--data-dir DIR]

Commands:
  create --kind admin|viewer|node|enrollment|metrics [--node ID] [--name N]
         [--ttl 24h] [--reenroll]
                 issue a token; prints only the token on stdout (shown once).
                 A metrics token may only scrape /metrics (Prometheus).
                 An enrollment token (default ttl 24h) lets one new node join as
                 --node ID (or its --name when that is a valid id, else the
                 hostname's id, made unique). A node that already has a live
                 token can only be enrolled again with --node ID --reenroll,
                 which revokes its old token (and cuts its agent off) when used
  list [--json]  list tokens (never their secrets)
  revoke ID      revoke a token; it stops working at once, also on a running hub

Options:
  --data-dir DIR   hub data directory   [env FLEET_DATA_DIR, default ./data]

${EXIT_CODES_HELP}
`;

function ago(ms: number | null): string {
  if (ms === null) return "-";
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

/** Runs the `token` command with its arguments; returns the exit code. */
export async function tokenCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      "data-dir": { type: "string" },
      kind: { type: "string" },
      node: { type: "string" },
      name: { type: "string" },
      json: { type: "boolean" },
      ttl: { type: "string" },
      reenroll: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(TOKEN_HELP);
    return values.help ? 0 : 2;
  }
  const dataDir = values["data-dir"] ?? Deno.env.get("FLEET_DATA_DIR") ?? "./data";
  const file = join(dataDir, "fleet.db");
  // A typo in --data-dir must not make a fresh database whose tokens the hub never sees.
  try {
    await Deno.stat(file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new RefusedError(
      `no hub database in ${dataDir} (start the hub once with serve --data-dir ${dataDir}, ` +
        "or pass the right --data-dir)",
    );
  }
  // Migration and open lines are for the hub's log, not this command's output.
  setLogLevel("warn");
  const db = await openDatabase(file);
  try {
    switch (command) {
      case "create": {
        const kind = TokenKind.safeParse(values.kind);
        if (!kind.success) {
          throw new UsageError("--kind must be admin, viewer, node, enrollment or metrics");
        }
        let ttlMs: number | undefined;
        if (values.ttl !== undefined) {
          ttlMs = parseDuration(values.ttl);
          if (!ttlMs) throw new UsageError(`--ttl: not a duration: ${values.ttl} (e.g. 24h)`);
        }
        if (kind.data === "node" && !values.node) {
          throw new UsageError("--node ID is required for a node token");
        }
        if (kind.data !== "node" && kind.data !== "enrollment" && values.node) {
          throw new UsageError("--node is only for node and enrollment tokens");
        }
        if (values.reenroll && (kind.data !== "enrollment" || !values.node)) {
          throw new UsageError("--reenroll needs --kind enrollment and --node ID");
        }
        if (values.node && !NodeId.safeParse(values.node).success) {
          throw new UsageError(`--node: not a valid node id: ${values.node}`);
        }
        const now = Date.now();
        let created: TokenCreated;
        try {
          created = await retryBusy(() =>
            db.transaction((tx) =>
              createToken(
                tx,
                {
                  kind: kind.data,
                  node_id: values.node,
                  name: values.name,
                  reenroll: values.reenroll,
                  expires_at: ttlMs === undefined ? undefined : now + ttlMs,
                },
                CLI_ACTOR,
                now,
              )
            )
          );
        } catch (error) {
          if (error instanceof HttpProblem) throw new RefusedError(error.message);
          throw error;
        }
        console.log(created.token);
        console.error(
          `created ${created.kind} token ${created.id} (${created.name})` +
            (created.reenroll ? `: it replaces ${created.node_id}'s token when used` : ""),
        );
        return 0;
      }
      case "list": {
        const rows = listTokenRows(db).map(tokenInfo);
        if (values.json) {
          console.log(JSON.stringify(rows, null, 2));
          return 0;
        }
        const table = [[
          "ID",
          "KIND",
          "NAME",
          "NODE",
          "CREATED",
          "LAST USED",
          "REVOKED",
          "EXPIRES",
        ]];
        for (const t of rows) {
          table.push([
            t.id,
            t.kind,
            t.name,
            t.node_id ?? "-",
            ago(t.created_at),
            ago(t.last_used_at),
            ago(t.revoked_at),
            t.used_at ? `used ${ago(t.used_at)}` : ago(t.expires_at),
          ]);
        }
        const w = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
        for (const r of table) console.log(r.map((c, i) => c.padEnd(w[i])).join("  ").trimEnd());
        return 0;
      }
      case "revoke": {
        const id = rest[0];
        if (!id) throw new UsageError("usage: fleet-hub token revoke ID (see 'token list')");
        const row = getTokenRow(db, id);
        if (!row) throw new RefusedError(`no token ${id} (see 'token list')`);
        const done = await retryBusy(() =>
          db.transaction((tx) => {
            const done = revokeToken(tx, id, Date.now());
            // A running hub sees this within seconds and closes what the token had open.
            endSessionsOfToken(tx, id, Date.now(), "token revoked");
            if (done) {
              insertAudit(tx, {
                actor: CLI_ACTOR,
                action: "token.revoke",
                target: id,
                result: "ok",
                detail: { kind: row.kind, name: row.name, node_id: row.node_id },
              });
            }
            return done;
          })
        );
        console.error(done ? `revoked ${id}` : `${id} was already revoked`);
        return 0;
      }
      default:
        throw new UsageError(`unknown token command: ${command}\n\n${TOKEN_HELP}`);
    }
  } finally {
    db.close();
  }
}
