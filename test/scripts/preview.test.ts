import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT, SECRET_PLACEHOLDER_PREFIX } from "../../tooling/mock-engine";
import { runScript } from "../helpers/run-script";

const STACKS = ["dev", "staging", "prod"];

describe("npm run preview", function () {
  this.timeout(120_000);

  it("prints exactly one JSON document per stack, with secrets shown as [secret]", async () => {
    const results = await Promise.all(STACKS.map((stack) => runScript("preview", ["--stack", stack, "--json"])));
    results.forEach((result, i) => {
      assert.equal(result.code, 0, result.stderr);
      const doc = JSON.parse(result.stdout);
      assert.deepEqual(Object.keys(doc), ["stack", "resources", "outputs"]);
      assert.equal(doc.stack, STACKS[i]);
      assert.ok(doc.resources.length > 0);
      for (const r of doc.resources) assert.deepEqual(Object.keys(r), ["urn", "type", "name", "parent", "inputs"]);
      assert.equal(doc.resources.filter((r: { parent: string | null }) => r.parent === null).length, 1, "one root");
      assert.equal(doc.outputs.stage, STACKS[i]);
      assert.ok(!result.stdout.includes(SECRET_PLACEHOLDER_PREFIX), "no secret value in clear");
    });
  });

  it("prints the resource tree and the outputs, and writes a Mermaid diagram", async () => {
    const diagram = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "preview-")), "dev.mmd");
    const result = await runScript("preview", ["--stack", "dev", "--diagram", diagram]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^pulumi:pulumi:Stack tributary-dev$/m);
    assert.match(result.stdout, /[├└]─ tributary:monitoring:AlertTopic alerts/);
    assert.match(result.stdout, /[├└]─ tributary:lessons:LessonCompletionSync lessons/);
    assert.match(result.stdout, /Outputs:\n(.*\n)*  stage: dev/);
    const mermaid = fs.readFileSync(diagram, "utf8");
    assert.match(mermaid, /^flowchart LR/);
    assert.match(mermaid, /Atlas trigger freecodecamp\.user/);
    assert.match(mermaid, /"rule lessons-rule"/);
    assert.match(result.stdout, /^Policy: 0 violations of 11 rules$/m);
  });

  it("exits non-zero and names the key on a broken config value", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-"));
    const broken = path.join(dir, "Pulumi.dev.yaml");
    const settings = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8");
    fs.writeFileSync(broken, settings.replace(/^config:\n/m, "config:\n  tributary:logRetentionDays: -1\n"));
    const result = await runScript("preview", ["--stack", "dev", "--json", "--config", broken]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /tributary:logRetentionDays: must be one of/);
    assert.match(result.stderr, /pulumi config set tributary:logRetentionDays <value> --stack dev/);
  });

  it("exits non-zero on a mandatory policy violation, naming the rule and the resource", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-"));
    const settings = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.prod.yaml"), "utf8");
    const broken = path.join(dir, "Pulumi.prod.yaml");
    // Valid config, but prod tables without point-in-time recovery break a policy rule.
    fs.writeFileSync(broken, settings.replace(/^config:\n/m, "config:\n  tributary:pointInTimeRecovery: false\n"));
    const result = await runScript("preview", ["--stack", "prod", "--json", "--config", broken]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /\[mandatory\] dynamodb-encryption-and-recovery: aws:dynamodb\/table:Table alma-users: has no point-in-time recovery in prod/);
  });

  it("exits non-zero on an unknown stack", async () => {
    const result = await runScript("preview", ["--stack", "qa"]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /unknown stack "qa"/);
  });
});
