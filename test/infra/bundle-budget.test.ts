/**
 * Bundle budgets, over the functions the stacks deploy, built the way their components
 * build them. Sizes are deterministic (the same source gives the same bytes), so this is
 * not a timed test: it reads what esbuild produced.
 */
import * as assert from "node:assert/strict";
import { type Bundle, bundleHandler, listHandlers } from "../../components/lambda/bundle";
import { ofType, stackRun } from "../../tooling/mock-engine";

/**
 * Zip bundles, with the AWS SDK: secrets read through the Parameters and Secrets extension
 * rather than an SSM client, and the SDK's unused parts trimmed (components/lambda/bundle.ts).
 */
const ZIP_BUDGET_BYTES = 250 * 1024;
/**
 * Zip bundles that also carry the mongodb driver: the iota services (607 KB). The driver and
 * bson are 507 KB of CommonJS on their own, which esbuild cannot tree-shake, so 250 KB would
 * take the driver out of the zip (a layer moves the bytes, and their load, elsewhere) or a
 * different driver. What is left is iota's code and the SDK parts of handlers/lib/aws-json.ts.
 */
const MONGODB_ZIP_BUDGET_BYTES = 620 * 1024;

/**
 * The AWS SDK clients each handler uses; any other client in its bundle is dead weight. Zip
 * functions read secrets through the Parameters and Secrets extension, without an SSM client.
 */
const CLIENTS: Record<string, string[]> = {
  "lesson-completed": ["client-sqs"],
  "alma-loan-updated": ["client-dynamodb", "client-sqs"],
  "alma-loan-returned": ["client-dynamodb", "client-sqs"],
  "alma-request-updated": ["client-dynamodb", "client-sqs"],
  "alma-request-closed": ["client-dynamodb", "client-sqs"],
  "alma-webhook": ["client-sns"],
  "hdoc-get-user": ["client-dynamodb"],
  "hdoc-get-users": ["client-dynamodb"],
  "iota-records": ["client-eventbridge"],
  "skill-sync": ["client-s3", "client-ssm"],
};

/**
 * Handlers that speak to their AWS services through handlers/lib/aws-json.ts: they carry the
 * services' endpoint rules and exceptions, never an SDK client or its commands.
 */
const CLIENTLESS = [
  "iota-records",
  "lesson-completed",
  "alma-loan-updated",
  "alma-loan-returned",
  "alma-request-updated",
  "alma-request-closed",
  "hdoc-get-user",
  "hdoc-get-users",
];

interface DeployedBundle {
  handler: string;
  runtimeAwsSdk: boolean;
  bytes: number;
}

describe("bundle budgets", function () {
  this.timeout(120_000);
  /** Every zip function of the prod stack, as its NodeFunction recorded it. */
  let deployed: DeployedBundle[];
  /** Every function under handlers/, built as the stack builds it (the image function as it is). */
  const bundles = new Map<string, Bundle>();

  before(async () => {
    const run = await stackRun("prod");
    deployed = ofType(run, "tributary:lambda:NodeFunction").map((r) => r.outputs.bundle as DeployedBundle);
    for (const handler of listHandlers()) {
      const runtimeAwsSdk = deployed.find((d) => d.handler === handler)?.runtimeAwsSdk ?? false;
      bundles.set(handler, await bundleHandler({ handler, runtimeAwsSdk }));
    }
  });

  it("knows the clients of every handler, and prod deploys every zip handler", () => {
    assert.deepEqual([...bundles.keys()].sort(), Object.keys(CLIENTS).sort());
    assert.deepEqual(
      [...new Set(deployed.map((d) => d.handler))].sort(),
      listHandlers().filter((h) => h !== "skill-sync"),
    );
  });

  it("keeps every zip bundle within its budget", () => {
    const carriesMongodb = (handler: string) =>
      Object.keys(bundles.get(handler)!.metafile.inputs).some((i) => /(^|\/)node_modules\/mongodb\//.test(i));
    const over = deployed.filter((d) => d.bytes > (carriesMongodb(d.handler) ? MONGODB_ZIP_BUDGET_BYTES : ZIP_BUDGET_BYTES));
    assert.deepEqual(
      over.map((d) => `${d.handler}: ${(d.bytes / 1024).toFixed(1)} KB`),
      [],
    );
  });

  for (const handler of listHandlers()) {
    it(`${handler} bundles neither the whole AWS SDK nor a client it does not use`, () => {
      // What the output holds: modules esbuild read but tree-shook away add nothing.
      const output = Object.values(bundles.get(handler)!.metafile.outputs)[0];
      const inputs = Object.entries(output.inputs)
        .filter(([, i]) => i.bytesInOutput > 0)
        .map(([name]) => name);
      assert.ok(!inputs.some((i) => /node_modules\/aws-sdk\//.test(i)), "no AWS SDK v2");
      const clients = [
        ...new Set(
          inputs.map((i) => /node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//.exec(i)?.[1]).filter((c): c is string => c !== undefined),
        ),
      ].sort();
      assert.deepEqual(clients, CLIENTS[handler]);
      if (CLIENTLESS.includes(handler)) {
        const clientParts = inputs.filter((i) => /node_modules\/@aws-sdk\/client-[a-z0-9-]+\/dist-es\/(\w+Client\.js|commands\/)/.test(i));
        assert.deepEqual(clientParts, [], "the services' rules and exceptions, no client");
      }
    });
  }
});
