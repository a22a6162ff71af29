/**
 * The Swarm view's YAML check (web/views/swarm/definition_check.ts): a syntax error names the
 * line the operator must fix, a top level that is not a mapping is refused on line 1, valid text
 * has no issue (the fields are the hub's to check); a definition written back as YAML parses to
 * the same definition, without the empty defaults.
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

Deno.test("valid YAML has no issues", () => {
  assert.deepEqual(checkDefinition(GOOD), []);
});

Deno.test("a syntax error names its line", () => {
  const bad = checkDefinition("name: web\nimage: a:1\nenv:\n  A: 1\n B: 2\n");
  assert.ok(bad.length >= 1);
  assert.equal(bad[0].line, 5, JSON.stringify(bad));
  const dup = checkDefinition("name: web\nimage: a:1\nname: again\n");
  assert.equal(dup[0].line, 3, "a repeated key is named where it repeats");
});

Deno.test("a top level that is not a mapping is refused on line 1", () => {
  assert.equal(checkDefinition("- web\n")[0].line, 1);
  assert.equal(checkDefinition("just text\n")[0].line, 1);
});

Deno.test("a definition written as YAML reads back the same, without empty defaults", () => {
  const def = SwarmDefinition.parse(parse(GOOD));
  assert.deepEqual(SwarmDefinition.parse(parse(definitionYaml(def))), def);
  const bare = definitionYaml(SwarmDefinition.parse({ name: "x", image: "a:1" }));
  assert.doesNotMatch(bare, /mounts|env|ports|mode/);
});
