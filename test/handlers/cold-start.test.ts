/**
 * What a cold start loads. A deployed bundle runs its first invocation in a fresh process,
 * against the app's local stand-ins, and names the modules it loaded beyond the process's
 * own: neither Node's ES module loader (which an `import()` in a CommonJS bundle starts, and
 * whose facade of node:http loads undici) nor undici (which a first `fetch` loads), nor an
 * SSM client: each costs a cold start milliseconds of CPU it has no use for.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { bundleHandler } from "../../components/lambda/bundle";
import { FIRST_EVENTS } from "../../scripts/bench/cold-start";
import { type LocalApp, LOCAL_APPS } from "../../scripts/local";

/** Runs the bundle's handler once with `event`; prints its answer and the built-in modules the process loaded. */
const RUN_ONCE = `
const before = new Set(process.moduleLoadList);
const { handler } = require(process.env.BUNDLE);
const event = JSON.parse(require("fs").readFileSync(process.env.EVENT, "utf8"));
const context = { awsRequestId: "00000000-0000-4000-8000-000000000000", functionName: "cold", getRemainingTimeInMillis: () => 30000 };
Promise.resolve(handler(event, context)).then((result) => {
  const loaded = process.moduleLoadList.filter((m) => !before.has(m)).map((m) => m.replace(/^NativeModule /, ""));
  // Keep-alive connections would hold the process open.
  process.stdout.write(JSON.stringify({ result, loaded }), () => process.exit(0));
});
`;

describe("cold starts: what a first invocation loads", function () {
  this.timeout(120_000);
  const apps = new Map<string, LocalApp>();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cold-start-"));

  before(async () => {
    for (const app of ["alma", "lessons"]) apps.set(app, await LOCAL_APPS[app]({ quiet: true }));
  });
  after(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    for (const app of apps.values()) await app.close();
  });

  for (const [handler, app] of [
    ["alma-webhook", "alma"],
    ["alma-loan-updated", "alma"],
    ["lesson-completed", "lessons"],
  ] as const) {
    it(`${handler}: no ES module loader, no undici, no SSM client; and it answers`, async () => {
      const bundle = await bundleHandler({ handler });
      const event = path.join(dir, `${handler}.json`);
      fs.writeFileSync(event, JSON.stringify(FIRST_EVENTS[handler]()));
      // Asynchronously: the stand-ins answer from this process.
      const { stdout } = await promisify(execFile)(process.execPath, ["-e", RUN_ONCE], {
        env: {
          ...process.env,
          ...apps.get(app)!.env,
          BUNDLE: bundle.file,
          EVENT: event,
          POWERTOOLS_LOG_LEVEL: "SILENT",
          AWS_LAMBDA_FUNCTION_NAME: handler,
        },
        timeout: 60_000,
      });
      const { result, loaded } = JSON.parse(stdout) as {
        result: { statusCode?: number; batchItemFailures?: unknown[] } | undefined;
        loaded: string[];
      };
      if (handler === "alma-webhook") assert.equal(result?.statusCode, 200);
      if (handler === "alma-loan-updated") assert.deepEqual(result?.batchItemFailures, []);
      assert.ok(loaded.includes("https"), "the process reports what it loaded (the SDK's node:https)");
      assert.deepEqual(
        loaded.filter((m) => /^internal\/modules\/esm\/|undici/.test(m)),
        [],
      );
      assert.ok(!Object.keys(bundle.metafile.inputs).some((i) => i.includes("@aws-sdk/client-ssm/")));
    });
  }
});
