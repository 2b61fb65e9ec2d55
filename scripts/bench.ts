/**
 * npm run bench: bundle sizes and cold starts of the deployed functions, requests per event,
 * throughput and the test loop, as markdown on stdout and in bench/results.md. Times are
 * medians of repeated runs beside a baseline measured in the same run (as ratios: machines
 * here are noisy); request counts are counted, not timed. It runs on the functions' Node major
 * (node_modules/.bin/node, see package.json).
 *
 *   npm run bench                      everything (about 8 minutes, most of it npm test three times)
 *   npm run bench -- --quick           without timing npm test
 *   npm run bench -- --alma-contention only the rows of simultaneous alma returns on one user (printed, not saved)
 *   npm run bench -- --skills-scale    only skill-sync at 1×, 5× and 20× its data (printed, not saved);
 *                                      --skills-scale=1,5 picks the scales, --runs=N repeats each
 *   npm run bench -- --cold-start      only the bundles and cold starts (printed, not saved)
 *   npm run bench -- --warm            only the warm cost of alma loan-updated and loan-returned and the hdoc listing (printed, not saved)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../components/lambda/bundle";
import { runStack } from "../tooling/mock-engine";
import { coldStarts, coldStartSection } from "./bench/cold-start";
import { almaContention, requestsPerEvent } from "./bench/requests";
import { skillsScaleSection } from "./bench/skills-scale";
import { hdocSection, warmSection } from "./bench/warm";
import { testLoopSection } from "./bench/test-loop";
import { runMain } from "./lib/main";

async function main(argv: string[]): Promise<number> {
  const lines: string[] = [];
  const say = (line = "") => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  if (argv.includes("--alma-contention")) {
    say("| scenario | DynamoDB | SQS | SNS | EventBridge | S3 | HTTP |");
    say("|---|---:|---:|---:|---:|---:|---:|");
    await almaContention(say);
    return 0;
  }
  const skillsScale = argv.find((a) => a.startsWith("--skills-scale"));
  if (skillsScale) {
    const scales = skillsScale.includes("=") ? skillsScale.split("=")[1].split(",").map(Number) : undefined;
    const runs = Number(argv.find((a) => a.startsWith("--runs="))?.split("=")[1] ?? 1);
    await skillsScaleSection(say, { scales, runs });
    return 0;
  }
  // The functions as prod deploys them: the components decide each bundle's build.
  if (argv.includes("--cold-start")) {
    for (const line of coldStartSection(await coldStarts(await runStack("prod")))) say(line);
    return 0;
  }
  if (argv.includes("--warm")) {
    const prod = await runStack("prod");
    await warmSection(prod, say);
    await hdocSection(prod, say);
    return 0;
  }
  say(`# tributary bench (${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${process.platform}/${process.arch})`);
  say();
  const prod = await runStack("prod");
  for (const line of coldStartSection(await coldStarts(prod))) say(line);
  await requestsPerEvent(say);
  await warmSection(prod, say);
  await hdocSection(prod, say);
  await skillsScaleSection(say);
  for (const line of await testLoopSection({ withTests: !argv.includes("--quick") })) say(line);
  fs.mkdirSync(path.join(REPO_ROOT, "bench"), { recursive: true });
  fs.writeFileSync(path.join(REPO_ROOT, "bench", "results.md"), `${lines.join("\n")}\n`);
  return 0;
}

runMain(() => main(process.argv.slice(2)), (err) => err.stack ?? err.message);
