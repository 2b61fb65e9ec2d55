import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { REPO_ROOT, WORKFLOWS_DIR } from "../../paths";

const workflowText = (name: string) => fs.readFileSync(path.join(WORKFLOWS_DIR, name), "utf8");
const workflow = (name: string) => parseYaml(workflowText(name));
const deployDoc = fs.readFileSync(path.join(REPO_ROOT, "docs", "deploy.md"), "utf8");
const pulumiStep = (job: any) => job.steps.find((s: any) => String(s.uses).startsWith("pulumi/actions"));
const roleOf = (job: any) =>
  job.steps.find((s: any) => String(s.uses).startsWith("aws-actions/configure-aws-credentials"))?.with["role-to-assume"];

describe("GitHub workflows", () => {
  const pr = workflow("pull-request.yml");
  const prText = workflowText("pull-request.yml");
  const deploy = workflow("deploy.yml");

  it("previews pull requests in <stack>-preview environments with the read-only preview role", () => {
    assert.equal(pr.jobs.preview.environment, "${{ matrix.stack }}-preview");
    assert.equal(roleOf(pr.jobs.preview), "${{ vars.AWS_PREVIEW_ROLE_ARN }}");
    assert.equal(pulumiStep(pr.jobs.preview).with.command, "preview");
  });

  it("previews prod only in prod-preview, which docs/deploy.md and the workflow require to have reviewers, and never for forks", () => {
    assert.ok(pr.jobs.preview.strategy.matrix.stack.includes("prod"), "prod is previewed, once approved");
    assert.equal(pr.jobs.preview.environment.replace("${{ matrix.stack }}", "prod"), "prod-preview");
    assert.equal(
      pulumiStep(pr.jobs.preview).env.PULUMI_ACCESS_TOKEN,
      "${{ secrets.PULUMI_ACCESS_TOKEN }}",
      "the token is the environment's own secret",
    );
    assert.equal(pr.jobs.preview.if, "github.event.pull_request.head.repo.full_name == github.repository");
    const row = deployDoc.split("\n").find((line) => line.startsWith("  | `prod-preview` |"));
    assert.match(row ?? "", /\*\*required reviewers\*\*, with "prevent self-review"/, "docs/deploy.md's environment table");
    assert.match(
      deployDoc,
      /The other way, a token that cannot decrypt prod, leaves no real prod preview at all/,
      "docs/deploy.md says why",
    );
    assert.match(prText, /the `prod-preview` environment MUST have required reviewers/);
    assert.match(prText, /prod's PULUMI_ACCESS_TOKEN is a secret of that environment alone/);
  });

  it("deploys with the deploy role, in the stack's own environment, and never shares it with previews", () => {
    assert.equal(roleOf(deploy.jobs.up), "${{ vars.AWS_DEPLOY_ROLE_ARN }}");
    assert.match(deploy.jobs.up.environment, /'prod'/);
    assert.notEqual(roleOf(deploy.jobs.up), roleOf(pr.jobs.preview));
    assert.ok(!String(deploy.jobs.up.environment).includes("preview"));
  });

  it("gives the tests a MySQL 8 server for the BRN database, in both workflows", () => {
    for (const job of [pr.jobs.test, deploy.jobs.up]) {
      assert.equal(job.services.mysql.image, "mysql:8");
      assert.deepEqual(job.services.mysql.ports, ["3306:3306"]);
      assert.equal(job.env.MYSQL_URL, "mysql://root@127.0.0.1:3306/test");
    }
  });

  it("installs the Pulumi CLI of .pulumi-version in both workflows", () => {
    for (const job of [pr.jobs.preview, deploy.jobs.up]) {
      assert.equal(pulumiStep(job).with["pulumi-version-file"], ".pulumi-version");
      assert.equal(pulumiStep(job).with["pulumi-version"], undefined);
    }
  });

  it("pins a CLI version at least as new as the installed @pulumi/pulumi's major.minor", () => {
    const pinned = fs.readFileSync(path.join(REPO_ROOT, ".pulumi-version"), "utf8").trim();
    const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(pinned);
    assert.ok(match, `.pulumi-version holds "${pinned}", not a version such as 3.276.0`);
    const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package-lock.json"), "utf8"));
    const [major, minor] = lock.packages["node_modules/@pulumi/pulumi"].version.split(".").map(Number);
    const [pinnedMajor, pinnedMinor] = [Number(match[1]), Number(match[2])];
    assert.equal(pinnedMajor, major, `the CLI's major version is the SDK's (${major})`);
    assert.ok(pinnedMinor >= minor, `the CLI ${pinned} is older than @pulumi/pulumi ${major}.${minor}`);
  });

  it("runs the test command before any preview or deployment", () => {
    assert.ok(pr.jobs.test.steps.some((s: any) => s.run === "npm test"));
    assert.deepEqual([pr.jobs.preview.needs].flat(), ["test"]);
    const runs = deploy.jobs.up.steps.map((s: any) => s.run ?? s.uses);
    assert.ok(runs.indexOf("npm test") < runs.findIndex((r: string) => String(r).startsWith("pulumi/actions")));
  });
});
