/**
 * The developer's loop: the offline preview per stack and `npm test`, each the median of
 * repeated runs. The bundle cache is warm after the first preview, as on a developer's machine;
 * the cold preview (no .build/bundles) is timed once, first.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { STAGES } from "../../components/platform";
import { median, seconds, timeCommand } from "./stats";
import { BUILD_DIR, REPO_ROOT } from "../../paths";

const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
const PREVIEW = path.join(REPO_ROOT, "scripts", "preview.ts");
/** Runs of each command; the medians are quoted. */
export const RUNS = 3;

export async function testLoopSection(options: { withTests: boolean }): Promise<string[]> {
  const lines = [
    "## Test loop",
    "",
    `Wall time, median of ${RUNS} runs on this machine.`,
    "",
    "| command | median | runs |",
    "|---|---:|---|",
  ];
  const row = (label: string, times: number[]) => lines.push(`| ${label} | ${seconds(median(times))} | ${times.map(seconds).join(", ")} |`);
  const preview = (stack: string) => timeCommand(TSX, [PREVIEW, "--stack", stack, "--json"], { cwd: REPO_ROOT });

  fs.rmSync(path.join(BUILD_DIR, "bundles"), { recursive: true, force: true });
  const repeat = async (run: () => Promise<number>) => {
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) times.push(await run());
    return times;
  };
  row("npm run preview -- --stack dev --json, empty bundle cache (once)", [await preview("dev")]);
  for (const stack of STAGES) row(`npm run preview -- --stack ${stack} --json`, await repeat(() => preview(stack)));
  if (options.withTests) row("npm test", await repeat(() => timeCommand("npm", ["test", "--silent"], { cwd: REPO_ROOT })));
  lines.push("");
  return lines;
}
