/**
 * Re-records the URN snapshots (test/infra/urns/<stack>.json) from each stack's run under the
 * mock engine. Run it when a resource is added or removed on purpose, or once a moved
 * resource's aliases are in place (the snapshot then keeps its new URN).
 */
import * as path from "node:path";
import { defineCommand, parseCommandLine } from "./lib/cli";
import { runMain } from "./lib/main";

export const URNS_RECORD_COMMAND = defineCommand({
  command: "npm run urns:record",
  help: `Usage: npm run urns:record

Runs each stack (each Pulumi.<stack>.yaml) under the mock engine and rewrites its URN snapshot,
test/infra/urns/<stack>.json, which test/infra/urns.test.ts compares every run with. A changed
URN is a resource that \`pulumi up\` would delete and create anew: run this only after adding
or removing resources on purpose, or once a moved resource lists its old URN in its aliases,
and commit the snapshots with the change.

Options:
  -h, --help   print this help and exit

Example:
  npm run urns:record && git diff --stat test/infra/urns
`,
  options: {},
});

runMain(async () => {
  const parsed = parseCommandLine(process.argv.slice(2), URNS_RECORD_COMMAND);
  if (typeof parsed === "number") return parsed;
  // Loaded only now: --help answers without the Pulumi SDK.
  const { knownStacks, runStack } = require("../tooling/mock-engine") as typeof import("../tooling/mock-engine");
  const { deployedUrns, snapshotFile, writeSnapshot } = require("../tooling/urns") as typeof import("../tooling/urns");
  for (const stack of knownStacks()) {
    const urns = deployedUrns(await runStack(stack));
    writeSnapshot(stack, urns);
    process.stdout.write(`${path.relative(process.cwd(), snapshotFile(stack))}: ${urns.length} URNs\n`);
  }
  return 0;
});
