/**
 * Bundle budgets. Sizes are deterministic (the same source gives the same bytes), so this
 * is not a timed test: it reads what esbuild produced.
 */
import * as assert from "node:assert/strict";
import * as os from "node:os";
import * as path from "node:path";
import { bundleHandler, listHandlers } from "../../components/lambda/bundle";

export const ZIP_BUDGET_BYTES = 700 * 1024;
/** Handlers deployed as container images, which the zip budget does not cover. */
const IMAGE_HANDLERS = ["skill-sync"];

/** The AWS SDK clients each handler uses; any other client in its bundle is dead weight. */
const CLIENTS: Record<string, string[]> = {
  "lesson-completed": ["client-sqs", "client-ssm"],
  "alma-loan-updated": ["client-dynamodb", "client-sqs"],
  "alma-loan-returned": ["client-dynamodb", "client-sqs"],
  "alma-request-updated": ["client-dynamodb", "client-sqs"],
  "alma-request-closed": ["client-dynamodb", "client-sqs"],
  "alma-webhook": ["client-sns", "client-ssm"],
  "hdoc-get-user": ["client-dynamodb"],
  "hdoc-get-users": ["client-dynamodb"],
  // iota services load the SDK the runtime provides (see IotaService).
  "iota-records": [],
  "skill-sync": ["client-s3", "client-ssm"],
};

describe("bundle budgets", function () {
  this.timeout(120_000);
  const bundles = new Map(
    listHandlers().map((handler) => [
      handler,
      bundleHandler({ handler, outdir: path.join(os.tmpdir(), "tributary-budget", handler), runtimeAwsSdk: handler.startsWith("iota-") }),
    ]),
  );

  it("knows the clients of every handler", () => {
    assert.deepEqual([...bundles.keys()].sort(), Object.keys(CLIENTS).sort());
  });

  for (const handler of listHandlers().filter((h) => !IMAGE_HANDLERS.includes(h))) {
    it(`${handler} is at most 700 KB minified`, () => {
      const { bytes } = bundles.get(handler)!;
      assert.ok(bytes <= ZIP_BUDGET_BYTES, `${handler} is ${(bytes / 1024).toFixed(1)} KB`);
    });
  }

  for (const handler of listHandlers()) {
    it(`${handler} bundles neither the whole AWS SDK nor a client it does not use`, () => {
      // What the output holds: modules esbuild read but tree-shook away add nothing.
      const output = Object.values(bundles.get(handler)!.metafile.outputs)[0];
      const inputs = Object.entries(output.inputs).filter(([, i]) => i.bytesInOutput > 0).map(([name]) => name);
      assert.ok(!inputs.some((i) => /node_modules\/aws-sdk\//.test(i)), "no AWS SDK v2");
      const clients = [...new Set(inputs.map((i) => /node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//.exec(i)?.[1]).filter((c): c is string => c !== undefined))].sort();
      assert.deepEqual(clients, CLIENTS[handler]);
    });
  }
});
