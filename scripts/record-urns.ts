/**
 * Re-records the URN snapshots (test/infra/urns/<stack>.json) from each stack's run under the
 * mock engine. Run it when a resource is added or removed on purpose, or once a moved
 * resource's aliases are in place (the snapshot then keeps its new URN).
 *
 *   npm run urns:record
 */
import * as path from "node:path";
import { knownStacks, runStack } from "../tooling/mock-engine";
import { deployedUrns, snapshotFile, writeSnapshot } from "../tooling/urns";
import { runMain } from "./lib/main";

runMain(async () => {
  for (const stack of knownStacks()) {
    const urns = deployedUrns(await runStack(stack));
    writeSnapshot(stack, urns);
    process.stdout.write(`${path.relative(process.cwd(), snapshotFile(stack))}: ${urns.length} URNs\n`);
  }
  return 0;
});
