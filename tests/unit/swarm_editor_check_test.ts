/**
 * The Swarm view's in-browser definition check (web/views/swarm/definition_check.ts): every error
 * names the line the operator must fix — a bad value its own line, a missing key its mapping's,
 * an unknown key its own, a YAML syntax error where the parser stopped — and a valid definition
 * has none; a definition written back as YAML parses to the same definition.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { checkDefinition, definitionYaml } from "../../web/views/swarm/definition_check.ts";
import { SwarmDefinition } from "../../shared/protocol/swarm.ts";

const GOOD = `name: web
image: 127.0.0.1:5000/fleet/web:2
replicas: 2
ports:
  - "8080:80"
env:
  MODE: prod
resources:
  reservations:
    generic: [{kind: NVIDIA-GPU, value: 1}]
`;

Deno.test("a valid definition has no issues", () => {
  assert.deepEqual(checkDefinition(GOOD), []);
});

Deno.test("a bad value is named on its own line, with its field", () => {
  const issues = checkDefinition(GOOD.replace('"8080:80"', "eighty"));
  assert.equal(issues.length, 1);
  assert.equal(issues[0].line, 5);
  assert.equal(issues[0].path, "ports.0");
  const nested = checkDefinition(GOOD.replace("value: 1", "value: 0"));
  assert.equal(nested[0].line, 10);
  assert.equal(nested[0].path, "resources.reservations.generic.0.value");
});

Deno.test("a missing key is 'required' at its mapping; an unknown key on its own line", () => {
  const missing = checkDefinition("name: web\nreplicas: 2\n");
  assert.deepEqual(missing, [{ line: 1, path: "image", message: "required" }]);
  const unknown = checkDefinition("name: web\nimage: a:1\n\nreplica: 3\n");
  assert.deepEqual(unknown, [{ line: 4, path: "replica", message: "unknown key replica" }]);
});

Deno.test("YAML syntax errors and non-mappings name a line", () => {
  const syntax = checkDefinition("name: web\nimage: a:1\nenv:\n  A: 1\n B: 2\n");
  assert.ok(syntax.length >= 1);
  assert.ok(syntax[0].line !== null && syntax[0].line >= 4, JSON.stringify(syntax));
  assert.equal(checkDefinition("- web\n")[0].line, 1);
});

Deno.test("a definition written as YAML reads back the same", () => {
  const def = SwarmDefinition.parse(parse(GOOD));
  const again = SwarmDefinition.parse(parse(definitionYaml(def)));
  assert.deepEqual(again, def);
  // Empty defaults are left out of the text.
  assert.doesNotMatch(
    definitionYaml(SwarmDefinition.parse({ name: "x", image: "a:1" })),
    /mounts|env/,
  );
});
