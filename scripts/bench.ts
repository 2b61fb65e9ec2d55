/**
 * npm run bench: bundle sizes and cold starts of the deployed functions, requests per event,
 * throughput and the test loop, as markdown on stdout (and in bench/results.md with --write).
 * Times are medians of repeated runs beside a baseline measured in the same run (as ratios:
 * machines here are noisy); request counts are counted, not timed. It runs on the functions'
 * Node major (node_modules/.bin/node, see package.json). BENCH_COMMAND's help gives the options.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { RunResult } from "../tooling/mock-engine";
import { type CommandOutput, defineCommand, parseCommandLine, processOutput, usageError } from "./lib/cli";
import { runMain } from "./lib/main";
import { REPO_ROOT } from "../paths";

export const RESULTS_FILE = path.join(REPO_ROOT, "bench", "results.md");

export const BENCH_COMMAND = defineCommand({
  command: "npm run bench",
  help: `Usage: npm run bench [-- [--quick] [--write]]
       npm run bench -- --cold-start | --warm | --alma-contention | --skills-scale[=1,5,20] [--runs=N]

Measures the deployed functions on this machine and prints the report as markdown on stdout:
bundle sizes and cold starts, requests per event, the warm cost of the hot paths, skill-sync
at 1x, 5x and 20x its data, and the test loop (npm test three times). The whole run takes about
8 minutes; a section alone, one to three. Times are medians beside a baseline measured in
the same run. Nothing is written unless --write is given.

Options:
  --write              also save the whole run's report to bench/results.md (the committed figures)
  --quick              the whole run without timing npm test
  --cold-start         only the bundles and cold starts
  --warm               only the warm cost of alma-loan-updated/-returned and the hdoc listing
  --alma-contention    only the rows of simultaneous alma returns on one user
  --skills-scale[=1,5] only skill-sync at those multiples of its data (default 1,5,20)
  --runs=N             with --skills-scale: runs of each scale (default 1)
  -h, --help           print this help and exit

Examples:
  npm run bench -- --cold-start
  npm run bench -- --write     # then commit bench/results.md
`,
  options: {
    write: { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
    "cold-start": { type: "boolean", default: false },
    warm: { type: "boolean", default: false },
    "alma-contention": { type: "boolean", default: false },
    "skills-scale": { type: "string" },
    runs: { type: "string" },
  },
});

/** What one `npm run bench` does: the whole run (saved only with --write), or one section, printed. */
export type BenchPlan =
  | { section: "all"; quick: boolean; write: boolean }
  | { section: "cold-start" | "warm" | "alma-contention" }
  | { section: "skills-scale"; scales?: number[]; runs: number };

const SECTIONS = ["cold-start", "warm", "alma-contention", "skills-scale"] as const;

/** The plan for a command line, or the exit code when it ends here (--help: 0, a usage error: 2). */
export function benchPlan(argv: string[], out: CommandOutput = processOutput): BenchPlan | number {
  // `--skills-scale` alone means every scale: parseArgs wants a value for a string option.
  const parsed = parseCommandLine(
    argv.map((a) => (a === "--skills-scale" ? "--skills-scale=" : a)),
    BENCH_COMMAND,
    out,
  );
  if (typeof parsed === "number") return parsed;
  const values = parsed.values;
  const chosen = SECTIONS.filter((s) => (s === "skills-scale" ? values[s] !== undefined : values[s]));
  if (chosen.length > 1) return usageError(BENCH_COMMAND, `one section at a time (got ${chosen.map((s) => `--${s}`).join(", ")})`, out);
  const section = chosen[0];
  if (section && values.write) return usageError(BENCH_COMMAND, `--write saves the whole run only; --${section} is printed`, out);
  if (section && values.quick) return usageError(BENCH_COMMAND, `--quick is for the whole run, not --${section}`, out);
  if (values.runs !== undefined && section !== "skills-scale") return usageError(BENCH_COMMAND, "--runs goes with --skills-scale", out);
  if (!section) return { section: "all", quick: values.quick, write: values.write };
  if (section !== "skills-scale") return { section };
  const text = values["skills-scale"] ?? "";
  const scales = text === "" ? undefined : text.split(",").map(Number);
  if (scales?.some((s) => !(s > 0)))
    return usageError(BENCH_COMMAND, `--skills-scale takes multiples above 0, such as 1,5,20 (got ${JSON.stringify(text)})`, out);
  const runs = Number(values.runs ?? 1);
  if (!Number.isInteger(runs) || runs < 1)
    return usageError(BENCH_COMMAND, `--runs must be a whole number, at least 1 (got ${JSON.stringify(values.runs)})`, out);
  return { section, scales, runs };
}

type Say = (line?: string) => void;

/** The sections' measurements, each saying its markdown lines. Tests give stand-ins. */
export interface BenchSections {
  all(say: Say, options: { quick: boolean }): Promise<void>;
  coldStart(say: Say): Promise<void>;
  warm(say: Say): Promise<void>;
  almaContention(say: Say): Promise<void>;
  skillsScale(say: Say, options: { scales?: number[]; runs: number }): Promise<void>;
}

/** The real measurements, loaded only when a bench runs: --help and a usage error answer at once. */
function measuredSections(): BenchSections {
  const { runStack } = require("../tooling/mock-engine") as typeof import("../tooling/mock-engine");
  const { coldStarts, coldStartSection } = require("./bench/cold-start") as typeof import("./bench/cold-start");
  const { almaContention, requestsPerEvent } = require("./bench/requests") as typeof import("./bench/requests");
  const { skillsScaleSection } = require("./bench/skills-scale") as typeof import("./bench/skills-scale");
  const { testLoopSection } = require("./bench/test-loop") as typeof import("./bench/test-loop");
  const { hdocSection, warmSection } = require("./bench/warm") as typeof import("./bench/warm");
  // The functions as prod deploys them: the components decide each bundle's build.
  const coldStart = async (say: Say, prod?: RunResult) => {
    for (const line of coldStartSection(await coldStarts(prod ?? (await runStack("prod"))))) say(line);
  };
  const warm = async (say: Say, prod?: RunResult) => {
    const stack = prod ?? (await runStack("prod"));
    await warmSection(stack, say);
    await hdocSection(stack, say);
  };
  return {
    async all(say, { quick }) {
      say(`# tributary bench (${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${process.platform}/${process.arch})`);
      say();
      const prod = await runStack("prod");
      await coldStart(say, prod);
      await requestsPerEvent(say);
      await warm(say, prod);
      await skillsScaleSection(say);
      for (const line of await testLoopSection({ withTests: !quick })) say(line);
    },
    coldStart: (say) => coldStart(say),
    warm: (say) => warm(say),
    async almaContention(say) {
      say("| scenario | DynamoDB | SQS | SNS | EventBridge | S3 | HTTP |");
      say("|---|---:|---:|---:|---:|---:|---:|");
      await almaContention(say);
    },
    skillsScale: (say, options) => skillsScaleSection(say, options),
  };
}

/** Runs the bench for a command line: the report goes to stdout, and to `resultsFile` only for a whole run with --write. */
export async function main(
  argv: string[],
  options: { out?: CommandOutput; sections?: BenchSections; resultsFile?: string } = {},
): Promise<number> {
  const out = options.out ?? processOutput;
  const plan = benchPlan(argv, out);
  if (typeof plan === "number") return plan;
  const sections = options.sections ?? measuredSections();
  const lines: string[] = [];
  const say: Say = (line = "") => {
    lines.push(line);
    out.stdout(`${line}\n`);
  };
  switch (plan.section) {
    case "cold-start":
      await sections.coldStart(say);
      return 0;
    case "warm":
      await sections.warm(say);
      return 0;
    case "alma-contention":
      await sections.almaContention(say);
      return 0;
    case "skills-scale":
      await sections.skillsScale(say, { scales: plan.scales, runs: plan.runs });
      return 0;
    case "all": {
      await sections.all(say, { quick: plan.quick });
      if (!plan.write) return 0;
      const file = options.resultsFile ?? RESULTS_FILE;
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `${lines.join("\n")}\n`);
      out.stderr(`wrote ${path.relative(process.cwd(), file)}\n`);
      return 0;
    }
  }
}

if (require.main === module)
  runMain(
    () => main(process.argv.slice(2)),
    (err) => err.stack ?? err.message,
  );
