/**
 * `npm test` (scripts/test.ts) as a user runs it: the files it is given, mocha's flags passed
 * on, and a missing MySQL server reported at once, only when the selected files need one.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { MONGODB_SKIP_REASON, WORKFLOW_MONGODB_URI } from "../helpers/mongodb";
import { closedPort, runCommand, type ScriptResult } from "../helpers/run-script";
import { REPO_ROOT, WORKFLOWS_DIR } from "../../paths";

interface Run extends ScriptResult {
  seconds: number;
}

/** `npm test -- <args>`, bounded in time. */
async function npmTest(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<Run> {
  const started = Date.now();
  const run = await runCommand("npm", ["test", "--silent", "--", ...args], env, timeoutMs);
  return { ...run, seconds: (Date.now() - started) / 1000 };
}

const DOCKER = "docker run -d --name tributary-mysql -p 3306:3306 -e MYSQL_ALLOW_EMPTY_PASSWORD=yes -e MYSQL_DATABASE=test mysql:8";
const APT = "sudo apt-get install -y mariadb-server";

describe("npm test (scripts/test.ts)", function () {
  this.timeout(120_000);
  let noMysql: NodeJS.ProcessEnv;
  before(async () => {
    noMysql = { MYSQL_URL: `mysql://root@127.0.0.1:${await closedPort()}/test` };
  });

  it("--help prints the usage and exits 0", async () => {
    const run = await npmTest(["--help"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^usage: npm test -- \[<file\|directory\|glob>\.\.\.\] \[--grep <pattern>\] \[--no-typecheck\]/);
    assert.match(run.stdout, /MYSQL_URL \(default mysql:\/\/root@127\.0\.0\.1:3306\/test\)/);
  });

  it("fails within 2 s, with one message naming MYSQL_URL and how to start a server, when a file that needs MySQL finds none", async () => {
    const run = await npmTest(["test/handlers/skill-sync.test.ts"], noMysql);
    assert.equal(run.code, 1);
    assert.ok(run.seconds < 2, `it took ${run.seconds} s`);
    assert.match(
      run.stderr,
      new RegExp(
        `^test/handlers/skill-sync\\.test\\.ts needs a MySQL server at MYSQL_URL=${noMysql.MYSQL_URL!.replace(/[.]/g, "\\.")}, and none answers: connect ECONNREFUSED`,
      ),
    );
    assert.ok(run.stderr.includes(`  ${DOCKER}\n`), run.stderr);
    assert.ok(run.stderr.includes(`(or, on Debian/Ubuntu: ${APT}, then README.md "Prerequisites" for its user)`), run.stderr);
    assert.equal(run.stderr.match(/MYSQL_URL=/g)?.length, 1, "one message");
    assert.doesNotMatch(run.stdout + run.stderr, /passing|failing/, "mocha never started");
  });

  it("finds every file that needs MySQL in a full run, and checks before the type check", async () => {
    const run = await npmTest([], noMysql);
    assert.equal(run.code, 1);
    assert.ok(run.seconds < 2, `it took ${run.seconds} s`);
    const named = /^\d+ of the selected test files need a MySQL server at .*, and none answers: .* \(([^)]*)\)\.$/m
      .exec(run.stderr)?.[1]
      .split(", ");
    assert.deepEqual(named, [
      "test/handlers/secret-rotation.test.ts",
      "test/handlers/skill-sync-faults.test.ts",
      "test/handlers/skill-sync.test.ts",
      "test/scripts/readme-examples.test.ts",
    ]);
  });

  it("runs a file that needs no MySQL without one", async () => {
    const run = await npmTest(["test/handlers/mask.test.ts", "--no-typecheck"], noMysql);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^ {2}8 passing/m);
  });

  it("runs only the tests of one file that --grep matches, and passes mocha's other flags on", async () => {
    const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "runner-")), "report.json");
    const run = await npmTest([
      "test/handlers/mask.test.ts",
      "--grep",
      "maskEmails",
      "--no-typecheck",
      "--reporter",
      "json",
      "--reporter-option",
      `output=${report}`,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const { stats, tests } = JSON.parse(fs.readFileSync(report, "utf8"));
    assert.equal(stats.passes, 2);
    assert.equal(stats.failures, 0);
    for (const test of tests) assert.match(test.fullTitle, /maskEmails/);
    assert.ok(tests.every((t: { file: string }) => t.file.endsWith(path.join("test", "handlers", "mask.test.ts"))));
  });

  it("fails at once, naming it, for a file that does not exist", async () => {
    const run = await npmTest(["test/handlers/no-such.test.ts"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^no such test file or directory: test\/handlers\/no-such\.test\.ts/);
  });

  it("says why the MongoDB suites are skipped, naming the URI the GitHub workflow uses", async () => {
    const workflow = parseYaml(fs.readFileSync(path.join(WORKFLOWS_DIR, "pull-request.yml"), "utf8"));
    assert.equal(workflow.jobs.test.env.MONGODB_URI, WORKFLOW_MONGODB_URI);
    const run = await npmTest(["test/handlers/iota-mongo.test.ts", "test/infra/lessons-trigger-match.test.ts", "--no-typecheck"], {
      MONGODB_URI: "",
    });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout.includes(`iota with MongoDB [${MONGODB_SKIP_REASON}]`), run.stdout);
    assert.ok(run.stdout.includes(`lessons trigger expressions (MongoDB) [${MONGODB_SKIP_REASON}]`), run.stdout);
    assert.match(run.stdout, /^ {2}10 pending/m);
  });

  it("turns mocha's colours off when NO_COLOR is set, as .ci/run sets it, even where MOCHA_COLORS forces them", async () => {
    const forced = await npmTest(["test/handlers/mask.test.ts", "--no-typecheck"], { NO_COLOR: "", MOCHA_COLORS: "1" });
    assert.ok(forced.stdout.includes("\x1b["), "the control: MOCHA_COLORS forces colours into a pipe");
    const run = await npmTest(["test/handlers/mask.test.ts", "--no-typecheck"], { NO_COLOR: "1", MOCHA_COLORS: "1" });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!(run.stdout + run.stderr).includes("\x1b["), run.stdout);
    const ci = fs.readFileSync(path.join(REPO_ROOT, ".ci", "run"), "utf8");
    assert.match(ci, /^export NO_COLOR=1 FORCE_COLOR=0$/m);
    assert.ok(ci.indexOf("export NO_COLOR=1") < ci.indexOf("npm test"));
  });
});
