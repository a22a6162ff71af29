/** The log line formatter: JSON for machines, short text for a terminal, secrets out of both. */
import assert from "node:assert/strict";
import { defaultLogFormat, formatLine } from "../../shared/log.ts";

const AT = new Date(2026, 0, 2, 3, 4, 5, 6);

Deno.test("log text format: time, level, component, message, key=value", () => {
  const line = formatLine("text", AT, "warn", "agent gone", {
    component: "control",
    node_id: "agx-01",
    detail: "socket closed",
    n: 3,
  });
  assert.equal(
    line,
    '03:04:05.006 WARN  control agent gone node_id=agx-01 detail="socket closed" n=3',
  );
  assert.ok(!line.startsWith("{"), "not JSON");
});

Deno.test("log json format: one object with ts, level, msg and the fields", () => {
  const line = formatLine("json", AT, "info", "listening", { component: "hub", port: 8765 });
  const obj = JSON.parse(line);
  assert.equal(obj.ts, AT.toISOString());
  assert.equal(obj.level, "info");
  assert.equal(obj.msg, "listening");
  assert.equal(obj.component, "hub");
  assert.equal(obj.port, 8765);
});

Deno.test("log: secrets stay out of both formats", () => {
  const fields = {
    component: "auth",
    token: "fca_supersecret",
    api_key: "k-supersecret",
    authorization: "Bearer supersecret",
    password: "supersecret",
  };
  for (const fmt of ["json", "text"] as const) {
    const line = formatLine(fmt, AT, "error", "login failed", fields);
    assert.ok(!line.includes("supersecret"), `${fmt}: ${line}`);
    assert.match(line, /\[redacted\]/);
  }
});

Deno.test("log format: an explicit choice wins; without one, a pipe gets JSON", () => {
  assert.equal(defaultLogFormat("json"), "json");
  assert.equal(defaultLogFormat("text"), "text");
  // Under `deno test` stderr may or may not be a terminal: the default must follow it.
  assert.equal(defaultLogFormat(undefined), Deno.stderr.isTerminal() ? "text" : "json");
});
