/**
 * Every `npm run` script answers `--help` with its usage, and does nothing else; a wrong
 * option gets one line that names it. Run through npm, as a newcomer types them.
 */
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { asksForHelp, defineCommand, parseCommandLine } from "../../scripts/lib/cli";
import { runCommand, runScript } from "../helpers/run-script";
import { REPO_ROOT } from "../../paths";

/** The scripts a newcomer runs (package.json's scripts, but for the type check, the tests and iota's migration), and their files under scripts/. */
const SCRIPT_FILES: Record<string, string> = {
  preview: "preview",
  invoke: "invoke",
  event: "events/wrap",
  local: "local",
  bench: "bench",
  dlq: "dlq",
  "urns:record": "record-urns",
};
const SCRIPTS = Object.keys(SCRIPT_FILES);

/** `npm run --silent <script> -- <args>`, bounded in time: a script that starts servers or a bench would not end. */
const npmRun = (script: string, args: string[]) => runCommand("npm", ["run", "--silent", script, "--", ...args]);

/** What the scripts write when they run: the committed bench results, the URN snapshots, the local env files, the preview's diagrams. */
function writtenState(): Record<string, string> {
  const state: Record<string, string> = {};
  const files = (dir: string) =>
    fs.existsSync(path.join(REPO_ROOT, dir)) ? fs.readdirSync(path.join(REPO_ROOT, dir)).map((f) => path.join(dir, f)) : [];
  for (const file of [
    path.join("bench", "results.md"),
    ...files(path.join("test", "infra", "urns")),
    ...files(path.join(".build", "local")),
    ...files(path.join(".build", "preview")),
  ]) {
    const full = path.join(REPO_ROOT, file);
    state[file] = `${fs.statSync(full).mtimeMs} ${createHash("sha256").update(fs.readFileSync(full)).digest("hex")}`;
  }
  return state;
}

describe("the scripts' command lines", function () {
  this.timeout(120_000);

  it("--help: each script prints its usage, options and an example on stdout, exits 0, and runs nothing", async () => {
    const before = writtenState();
    const results = await Promise.all(SCRIPTS.map(async (script) => [script, await npmRun(script, ["--help"])] as const));
    for (const [script, result] of results) {
      assert.equal(result.code, 0, `${script}: ${result.stderr}`);
      assert.match(result.stdout, new RegExp(`^Usage: npm run (--silent )?${script}\\b`), script);
      assert.match(result.stdout, /^Options:$/m, script);
      assert.match(result.stdout, /^ {2}-h, --help +print this help and exit$/m, script);
      assert.match(result.stdout, /^Examples?:\n {2}\S/m, script);
      assert.equal(result.stderr, "", script);
      // Nothing ran: no stand-ins came up, no bench or stack run printed its first line.
      assert.doesNotMatch(result.stdout, /local stand-ins for|# tributary bench|^Stack \w+:|URNs$/m, script);
    }
    assert.deepEqual(writtenState(), before, "bench/results.md, the URN snapshots, .build/local and .build/preview are untouched");
  });

  it("an unknown option: one line naming it and where the help is, exit 2", async () => {
    // As npm runs them, without npm's own start: package.json's mapping is what --help checks.
    const results = await Promise.all(
      SCRIPTS.map(async (script) => [script, await runScript(SCRIPT_FILES[script], ["--frobnicate"])] as const),
    );
    for (const [script, result] of results) {
      assert.equal(result.code, 2, `${script}: ${result.stderr}`);
      assert.equal(result.stderr, `npm run ${script}: unknown option --frobnicate; see npm run ${script} -- --help\n`);
      assert.equal(result.stdout, "", script);
    }
  });

  it("a missing or wrong argument: one line saying what is needed, exit 2", async () => {
    // preview's, bench's and dlq's are tested with their commands, in process.
    const cases: [string, string[], string][] = [
      ["invoke", ["alma-webhook"], "at least one --event <file> is required"],
      ["event", ["sqs"], "sqs wraps 1 to 10 --webhook or --message files (got 0)"],
      ["local", [], "say which app: alma, lessons, hdoc, skills"],
      [
        "local",
        ["iota"],
        'no local stand-ins for "iota" (iota needs a MongoDB replica set instead: set MILL_IOTA_MONGO_URI to one, see docs/local.md); the apps are alma, lessons, hdoc, skills',
      ],
      ["urns:record", ["dev"], "unexpected argument dev"],
    ];
    const results = await Promise.all(cases.map(([script, args]) => runScript(SCRIPT_FILES[script], args)));
    cases.forEach(([script, args, problem], i) => {
      assert.equal(results[i].code, 2, `${script} ${args.join(" ")}: ${results[i].stderr}`);
      assert.equal(results[i].stderr, `npm run ${script}: ${problem}; see npm run ${script} -- --help\n`);
    });
  });

  describe("parseCommandLine", () => {
    const spec = defineCommand({
      command: "npm run demo",
      help: "Usage: npm run demo -- --name <n>\n",
      options: { name: { type: "string" }, json: { type: "boolean", default: false } },
    });
    const parse = (argv: string[]) => {
      const out = { stdout: "", stderr: "" };
      const result = parseCommandLine(argv, spec, { stdout: (t) => (out.stdout += t), stderr: (t) => (out.stderr += t) });
      return { result, ...out };
    };

    it("answers --help or -h before looking at anything else, but not after `--`", () => {
      for (const argv of [["--help"], ["-h"], ["--frobnicate", "--help"], ["--name", "x", "-h"]]) {
        assert.deepEqual(parse(argv), { result: 0, stdout: spec.help, stderr: "" }, argv.join(" "));
      }
      assert.equal(asksForHelp(["--", "--help"]), false);
    });

    it("names the wrong option, the value it lacks or has, and the argument it does not take", () => {
      const problems: [string[], string][] = [
        [["--nmae", "x"], "unknown option --nmae"],
        [["--name"], "option --name needs a value"],
        [["--name", "--json"], "option --name needs a value"],
        [["--json=yes"], "option --json takes no value"],
        [["extra"], "unexpected argument extra"],
      ];
      for (const [argv, problem] of problems) {
        assert.deepEqual(
          parse(argv),
          { result: 2, stdout: "", stderr: `npm run demo: ${problem}; see npm run demo -- --help\n` },
          argv.join(" "),
        );
      }
    });

    it("returns the values otherwise", () => {
      const { result } = parse(["--name", "x"]);
      assert.ok(typeof result !== "number");
      assert.deepEqual({ ...result.values }, { name: "x", json: false });
    });
  });
});
