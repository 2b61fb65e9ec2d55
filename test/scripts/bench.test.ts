/**
 * The bench's command line and what it writes, with stand-in sections (the real ones take
 * minutes), and the cold-start runner's own timing of a first invocation.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type BenchSections, benchPlan, main } from "../../scripts/bench";
import { type ColdStart, coldStartSection, FIRST_INVOCATION, RUNNER, type Timed } from "../../scripts/bench/cold-start";
import { type TimedRun, timeRun } from "../../scripts/bench/stats";

/** What a command writes, collected. */
function collect() {
  const out = { stdout: "", stderr: "" };
  return { out, io: { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t) } };
}

/** Sections that say one line each and record that they ran. */
function standInSections(ran: string[]): BenchSections {
  const section = (name: string) => async (say: (line?: string) => void) => {
    ran.push(name);
    say(`| ${name} |`);
  };
  return {
    all: section("all"),
    coldStart: section("cold-start"),
    warm: section("warm"),
    almaContention: section("alma-contention"),
    skillsScale: section("skills-scale"),
  };
}

describe("npm run bench", function () {
  this.timeout(60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-cli-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe("its command line", () => {
    it("runs everything and saves it only with --write; a section alone is printed", () => {
      const { io } = collect();
      assert.deepEqual(benchPlan([], io), { section: "all", quick: false, write: false });
      assert.deepEqual(benchPlan(["--write"], io), { section: "all", quick: false, write: true });
      assert.deepEqual(benchPlan(["--quick", "--write"], io), { section: "all", quick: true, write: true });
      assert.deepEqual(benchPlan(["--cold-start"], io), { section: "cold-start" });
      assert.deepEqual(benchPlan(["--skills-scale"], io), { section: "skills-scale", scales: undefined, runs: 1 });
      assert.deepEqual(benchPlan(["--skills-scale=1,5", "--runs=3"], io), { section: "skills-scale", scales: [1, 5], runs: 3 });
    });

    it("refuses --write with a section, two sections, and bad scales or runs, in one line each (exit 2)", () => {
      const refusals: [string[], RegExp][] = [
        [["--cold-start", "--write"], /--write saves the whole run only; --cold-start is printed/],
        [["--warm", "--cold-start"], /one section at a time \(got --cold-start, --warm\)/],
        [["--warm", "--quick"], /--quick is for the whole run, not --warm/],
        [["--skills-scale=0,5"], /--skills-scale takes multiples above 0/],
        [["--skills-scale", "--runs=0"], /--runs must be a whole number, at least 1/],
        [["--runs=2"], /--runs goes with --skills-scale/],
        [["--wirte"], /unknown option --wirte/],
      ];
      for (const [argv, problem] of refusals) {
        const { out, io } = collect();
        assert.equal(benchPlan(argv, io), 2, argv.join(" "));
        assert.match(out.stderr, problem);
        assert.match(out.stderr, /^npm run bench: [^\n]*; see npm run bench -- --help\n$/);
      }
    });

    it("prints the whole run's report and writes bench/results.md only with --write", async () => {
      const resultsFile = path.join(dir, "results.md");
      const ran: string[] = [];
      const printed = collect();
      assert.equal(await main([], { out: printed.io, sections: standInSections(ran), resultsFile }), 0);
      assert.equal(printed.out.stdout, "| all |\n");
      assert.ok(!fs.existsSync(resultsFile), "not written without --write");

      const written = collect();
      assert.equal(await main(["--write"], { out: written.io, sections: standInSections(ran), resultsFile }), 0);
      assert.equal(fs.readFileSync(resultsFile, "utf8"), "| all |\n");
      assert.match(written.out.stderr, /^wrote .*results\.md\n$/);
      fs.rmSync(resultsFile);

      assert.equal(await main(["--cold-start"], { out: collect().io, sections: standInSections(ran), resultsFile }), 0);
      assert.ok(!fs.existsSync(resultsFile), "a section is never written");
      assert.deepEqual(ran, ["all", "all", "cold-start"]);
    });

    it("--help and a usage error run no section", async () => {
      const ran: string[] = [];
      const help = collect();
      assert.equal(await main(["--help"], { out: help.io, sections: standInSections(ran), resultsFile: path.join(dir, "never.md") }), 0);
      assert.match(help.out.stdout, /^Usage: npm run bench/);
      assert.equal(await main(["--cold-start", "--write"], { out: collect().io, sections: standInSections(ran) }), 2);
      assert.deepEqual(ran, []);
    });
  });

  describe("the first invocation of a cold start", () => {
    /** A bundle whose handler takes `ms` to answer. */
    function bundleTaking(ms: number): string {
      const file = path.join(dir, `handler-${ms}.js`);
      fs.writeFileSync(file, `exports.handler = () => new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200 }), ${ms}));\n`);
      return file;
    }

    it("is timed inside the cold-start process, from the loaded bundle to the answer", async () => {
      const event = path.join(dir, "event.json");
      fs.writeFileSync(event, "{}");
      for (const ms of [0, 40]) {
        const run = await timeRun(process.execPath, ["-e", RUNNER], {
          env: { ...process.env, BENCH_BUNDLE: bundleTaking(ms), BENCH_EVENT: event },
        });
        const first = run.reported[FIRST_INVOCATION];
        assert.ok(first >= ms && first < run.wallMs, `${ms} ms handler: first invocation ${first} ms, process ${run.wallMs} ms`);
        assert.ok(run.cpuMs !== undefined && run.cpuMs > 0, "the CPU line is still read");
      }
      // Loading alone reports no invocation.
      const loadOnly = await timeRun(process.execPath, ["-e", RUNNER], { env: { ...process.env, BENCH_BUNDLE: bundleTaking(0) } });
      assert.equal(loadOnly.reported[FIRST_INVOCATION], undefined);
    });

    it("is what the table's last column shows, never the difference of two processes' medians (which can be negative)", () => {
      const runs = (wallMs: number, first?: number): TimedRun[] =>
        Array.from({ length: 5 }, () => ({
          wallMs,
          cpuMs: wallMs,
          reported: first === undefined ? {} : ({ [FIRST_INVOCATION]: first } as Record<string, number>),
        }));
      const timed = (subject: TimedRun[]): Timed => ({ subject, floor: runs(27), wallRatios: [2], cpuRatios: [2] });
      // A noisy machine: the cold starts came out faster than loading alone.
      const result: ColdStart = {
        fn: { handler: "alma-webhook", app: "alma", runtimeAwsSdk: false, file: "index.js", bytes: 1000 },
        gzipBytes: 500,
        loadOnly: timed(runs(90)),
        firstInvocation: timed(runs(50, 12.4)),
      };
      const row = coldStartSection([result]).find((line) => line.startsWith("| alma-webhook |"))!;
      assert.match(row, /\| 12 ms \(12–12\) \|$/);
      assert.doesNotMatch(row, /-\d+ ms/);
    });
  });
});
