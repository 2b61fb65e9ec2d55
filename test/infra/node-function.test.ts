import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildOptions, bundleCounters, bundleHandler } from "../../components/lambda/bundle";
import { type AsyncInvocationArgs, NodeFunction, NodeImageFunction, type NodeFunctionArgs } from "../../components/lambda/node-function";
import { DEAD_LETTER_RETENTION_SECONDS, DeadLetterQueue } from "../../components/events/dead-letter-queue";
import { eventStreamSerdeProvider } from "../../components/lambda/shims/event-streams";
import { Crc32Js, Sha256Js } from "../../components/lambda/shims/js-hash";
import { TEST_PLATFORM } from "../helpers/platform";
import { childrenOf, named, ofType, policyOf, type RunResult, runProgram } from "../../tooling/mock-engine";

const ECHO_ENTRY = "test/fixtures/handlers/echo/index.ts";

const baseArgs: NodeFunctionArgs = {
  handler: "echo",
  entry: ECHO_ENTRY,
  platform: TEST_PLATFORM,
};

function build(extra: Partial<NodeFunctionArgs> = {}, name = "echo"): Promise<RunResult> {
  return runProgram(() => new NodeFunction(name, { ...baseArgs, ...extra }), { stack: "test" });
}

/** The app's failure queue, as the apps make it, named after the function. */
function failureQueue(name: string): DeadLetterQueue {
  return new DeadLetterQueue(`${name}-failures`, { platform: TEST_PLATFORM, description: "test failures" });
}

/** A function invoked asynchronously, with its failure queue. */
function buildAsync(asyncInvocation: Omit<AsyncInvocationArgs, "failureQueue">, name = "echo"): Promise<RunResult> {
  return runProgram(
    () => new NodeFunction(name, { ...baseArgs, asyncInvocation: { ...asyncInvocation, failureQueue: failureQueue(name) } }),
    { stack: "test" },
  );
}

function statementsOf(run: RunResult, name = "echo") {
  return policyOf(named(run, "aws:iam/rolePolicy:RolePolicy", `${name}-policy`)).Statement;
}

describe("NodeFunction", () => {
  describe("bundle", () => {
    it("writes a loadable CommonJS bundle whose handler runs", async () => {
      const bundle = await bundleHandler({ handler: "echo", entry: ECHO_ENTRY });
      assert.ok(fs.existsSync(bundle.file));
      assert.equal(bundle.handler, "index.handler");
      delete require.cache[bundle.file];
      const loaded = require(bundle.file);
      assert.equal(typeof loaded.handler, "function");
      assert.deepEqual(await loaded.handler({ message: "hi" }), { echoed: "hi", invocations: 1 });
      await assert.rejects(loaded.handler({ message: 42 }), /message/);
    });

    it("is minified, targets node22 and bundles its dependencies", async () => {
      const bundle = await bundleHandler({ handler: "echo", entry: ECHO_ENTRY });
      const code = fs.readFileSync(bundle.file, "utf8");
      // The CRT signer is an optional require inside try/catch, left for the runtime to skip.
      assert.ok(!/require\("@aws-sdk\/(?!signature-v4-crt")/.test(code), "the AWS SDK is bundled, not required at run time");
      assert.ok(!/require\("zod/.test(code), "zod is bundled");
      const options = buildOptions();
      assert.equal(options.minify, true);
      assert.equal(options.target, "node22");
      assert.equal(options.format, "cjs");
      assert.ok(!code.includes("eventSchema"), "local names are mangled");
      const inputs = Object.keys(bundle.metafile.inputs);
      assert.ok(inputs.some((i) => i.includes("node_modules/@aws-sdk/client-ssm/")));
      assert.ok(
        inputs.every((i) => !path.isAbsolute(i)),
        "metafile paths are relative, so the build does not depend on where the repo is",
      );
    });

    it("leaves out the SDK's parts no function runs (event streams, hash fallbacks), keeping them where a client streams", async () => {
      const webhook = Object.keys((await bundleHandler({ handler: "alma-webhook" })).metafile.inputs);
      assert.ok(!webhook.some((i) => i.includes("/@smithy/core/dist-es/submodules/event-streams/")), "no event streams");
      assert.ok(!webhook.some((i) => /\/checksum\/(sha256\/Sha256Js|md5\/Md5Js|crc32\/Crc32Js)\.js$/.test(i)), "no JavaScript hashes");
      for (const shim of ["event-streams", "js-hash"]) assert.ok(webhook.includes(`components/lambda/shims/${shim}.ts`), shim);
      // S3's client sets up its streaming operations with the real module.
      const s3 = Object.keys((await bundleHandler({ handler: "skill-sync" })).metafile.inputs);
      assert.ok(s3.some((i) => i.includes("/@smithy/core/dist-es/submodules/event-streams/")));
    });

    it("bundles the SDK clients' endpoint rules that aws-json.ts imports by path, even when the runtime's SDK is used", async () => {
      const bundle = await bundleHandler({ handler: "alma-loan-updated", runtimeAwsSdk: true });
      const code = fs.readFileSync(bundle.file, "utf8");
      assert.ok(/require\("@smithy\/core\/[a-z]+"\)/.test(code), "the rest of the SDK is the runtime's");
      assert.ok(!/require\("@aws-sdk\/[^"]+\/dist-es\//.test(code), "no file of the runtime's SDK is required by path");
      assert.ok(Object.keys(bundle.metafile.inputs).some((i) => i.endsWith("client-dynamodb/dist-es/endpoint/endpointResolver.js")));
    });

    it("stands in for what it leaves out with errors that say why where a trimmed part would run", async () => {
      assert.throws(() => eventStreamSerdeProvider(), /AWS SDK event streams are not bundled/);
      assert.throws(() => new Sha256Js(), /no native SHA-256, and the SDK's JavaScript SHA-256 is not bundled/);
      assert.throws(() => new Crc32Js(), /CRC32/);
    });

    it("takes credentials from the environment only, as Lambda gives them: the rest of the default chain is left out", async () => {
      const bundle = await bundleHandler({ handler: "echo", entry: ECHO_ENTRY });
      const inputs = Object.keys(bundle.metafile.inputs);
      for (const provider of [
        "credential-provider-ini",
        "credential-provider-sso",
        "credential-provider-process",
        "credential-provider-web-identity",
        "credential-provider-http",
      ]) {
        assert.ok(!inputs.some((i) => i.includes(`@aws-sdk/${provider}/`)), `${provider} is not bundled`);
      }
      assert.ok(inputs.some((i) => i.includes("@aws-sdk/credential-provider-env/")));
    });

    it("is content-addressed: the same source gives the same bytes, in a folder named by their sha256", async () => {
      const a = await bundleHandler({ handler: "echo", entry: ECHO_ENTRY });
      const b = await bundleHandler({ handler: "echo-again", entry: ECHO_ENTRY });
      assert.equal(a.file, b.file);
      assert.equal(path.basename(a.dir), a.sha256);
      assert.equal(createHash("sha256").update(fs.readFileSync(a.file)).digest("hex"), a.sha256);
    });

    it("rebuilds when an input file changes, and reuses the cache while none does", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nf-cache-"));
      const entry = path.join(dir, "index.ts");
      fs.writeFileSync(path.join(dir, "greeting.ts"), 'export const greeting = "hello";\n');
      fs.writeFileSync(entry, 'import { greeting } from "./greeting";\nexport const handler = async () => greeting;\n');
      const first = await bundleHandler({ handler: "greeting", entry });
      const calls = bundleCounters.esbuildCalls;
      assert.equal((await bundleHandler({ handler: "greeting", entry })).sha256, first.sha256);
      assert.equal(bundleCounters.esbuildCalls, calls, "served from the cache");
      // An imported file, not the entry, changes: its size changes too, so the change is seen at once.
      fs.writeFileSync(path.join(dir, "greeting.ts"), 'export const greeting = "hello again";\n');
      const second = await bundleHandler({ handler: "greeting", entry });
      assert.notEqual(second.sha256, first.sha256);
      assert.equal(bundleCounters.esbuildCalls, calls + 1);
      assert.match(fs.readFileSync(second.file, "utf8"), /hello again/);
    });

    it("replaces whatwg-url with Node's URL, and the mongodb driver still parses connection strings", async () => {
      const bundle = await bundleHandler({ handler: "mongo-url", entry: "test/fixtures/handlers/mongo-url/index.ts" });
      assert.ok(!Object.keys(bundle.metafile.inputs).some((i) => /node_modules\/(tr46|whatwg-url)\//.test(i)));
      const { handler } = require(bundle.file);
      assert.deepEqual(await handler({ uri: "mongodb://user:p%40ss@db1.example:27017,db2.example:27018/iota?replicaSet=rs0" }), {
        hosts: ["db1.example:27017", "db2.example:27018"],
        replicaSet: "rs0",
        dbName: "iota",
      });
    });

    it("names the handler when it has no entry", async () => {
      await assert.rejects(
        bundleHandler({ handler: "no-such-function" }),
        /handler "no-such-function": there is no handlers\/<app>\/functions\/no-such-function\.ts/,
      );
      assert.throws(() => new NodeFunction("missing", { ...baseArgs, entry: undefined, handler: "no-such-function" }), /no-such-function/);
    });

    it("builds every bundle a program asks for in one esbuild call per set of options", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nf-batch-"));
      const entries = ["a", "b", "c"].map((name) => {
        const entry = path.join(dir, `${name}.ts`);
        fs.writeFileSync(entry, `export const handler = async () => "${name}";\n`);
        return entry;
      });
      const calls = bundleCounters.esbuildCalls;
      let functions: NodeFunction[] = [];
      await runProgram(
        () => {
          functions = [
            ...entries.map((entry, i) => new NodeFunction(`fn-${i}`, { ...baseArgs, handler: `fn-${i}`, entry })),
            new NodeFunction("fn-sdk", { ...baseArgs, handler: "fn-sdk", entry: entries[0], runtimeAwsSdk: true }),
          ];
        },
        { stack: "test" },
      );
      assert.equal(bundleCounters.esbuildCalls, calls + 2, "one call for the bundled SDK, one for the runtime's");
      const bundles = await Promise.all(functions.map((f) => f.bundle));
      assert.equal(new Set(bundles.slice(0, 3).map((b) => b.sha256)).size, 3, "each entry its own bundle");
      assert.match(require(bundles[1].file).handler.toString(), /"b"/);
    });

    it("points functions with the same source at one bundle, and records which handler each runs", async () => {
      const run = await runProgram(
        () => {
          new NodeFunction("one", baseArgs);
          new NodeFunction("two", { ...baseArgs, runtimeAwsSdk: true });
        },
        { stack: "test" },
      );
      const codes = ofType(run, "aws:lambda/function:Function").map((f) => f.inputs.code.archive["index.js"].path);
      assert.equal(codes.length, 2);
      for (const code of codes) assert.match(code, /^\.build\/bundles\/[0-9a-f]{64}\/index\.js$/);
      assert.notEqual(codes[0], codes[1], "the runtime's SDK makes another bundle");
      const recorded = ofType(run, "tributary:lambda:NodeFunction").map((f) => f.outputs.bundle);
      assert.deepEqual(
        recorded.map((b) => [b.handler, b.runtimeAwsSdk]),
        [
          ["echo", false],
          ["echo", true],
        ],
      );
      assert.ok(recorded.every((b) => b.bytes > 0 && /^[0-9a-f]{64}$/.test(b.sha256)));
    });
  });

  describe("function", () => {
    it("runs nodejs22.x on arm64 with the memory, timeout and environment it is given", async () => {
      const run = await build({ memorySize: 512, timeout: 45, environment: { TABLE_NAME: "users" } });
      const fn = named(run, "aws:lambda/function:Function", "echo");
      assert.equal(fn.inputs.runtime, "nodejs22.x");
      assert.deepEqual(fn.inputs.architectures, ["arm64"]);
      assert.equal(fn.inputs.handler, "index.handler");
      assert.equal(fn.inputs.packageType, "Zip");
      assert.equal(fn.inputs.memorySize, 512);
      assert.equal(fn.inputs.timeout, 45);
      assert.deepEqual(fn.inputs.environment.variables, { POWERTOOLS_SERVICE_NAME: "echo", TABLE_NAME: "users" });
      assert.equal(fn.inputs.tracingConfig, undefined);
      assert.equal(fn.inputs.reservedConcurrentExecutions, undefined);
    });

    it("reads secrets through AWS's Parameters and Secrets extension: its arm64 layer for the platform's region, its cache off", async () => {
      const fn = (run: RunResult) => named(run, "aws:lambda/function:Function", "echo");
      const london = fn(await build({ readsSecrets: true, environment: { TOKEN_PARAM: "/app/token" } }));
      assert.deepEqual(london.inputs.layers, [
        "arn:aws:lambda:eu-west-2:133256977650:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:99",
      ]);
      assert.deepEqual(london.inputs.environment.variables, {
        POWERTOOLS_SERVICE_NAME: "echo",
        PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED: "FALSE",
        TOKEN_PARAM: "/app/token",
      });
      const virginia = fn(await build({ readsSecrets: true, platform: { ...TEST_PLATFORM, region: "us-east-1" } }));
      assert.deepEqual(virginia.inputs.layers, [
        "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:99",
      ]);
      assert.equal(fn(await build()).inputs.layers, undefined, "no layer for a function that reads no secret");
      assert.throws(
        () => new NodeFunction("far", { ...baseArgs, readsSecrets: true, platform: { ...TEST_PLATFORM, region: "ap-southeast-9" } }),
        /no AWS Parameters and Secrets Lambda Extension layer \(arm64\) is known for region "ap-southeast-9": add its ARN to SECRETS_EXTENSION_LAYERS in components\/lambda\/secrets-extension\.ts \(https:\/\/docs\.aws\.amazon\.com\//,
      );
    });

    it("has tracing and reserved concurrency as options", async () => {
      const run = await build({ tracing: true, reservedConcurrency: 5 });
      const fn = named(run, "aws:lambda/function:Function", "echo");
      assert.deepEqual(fn.inputs.tracingConfig, { mode: "Active" });
      assert.equal(fn.inputs.reservedConcurrentExecutions, 5);
      const xray = statementsOf(run).find((s) => s.Sid === "WriteTraces");
      assert.deepEqual(xray?.Action, ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]);
    });

    it("keeps its children under the component and prefixes their names", async () => {
      const run = await build();
      const component = named(run, "tributary:lambda:NodeFunction", "echo");
      const children = childrenOf(run, component)
        .map((c) => `${c.type}::${c.name}`)
        .sort();
      assert.deepEqual(children, [
        "aws:cloudwatch/logGroup:LogGroup::echo-logs",
        "aws:cloudwatch/metricAlarm:MetricAlarm::echo-duration",
        "aws:cloudwatch/metricAlarm:MetricAlarm::echo-errors",
        "aws:cloudwatch/metricAlarm:MetricAlarm::echo-throttles",
        "aws:iam/role:Role::echo-role",
        "aws:iam/rolePolicy:RolePolicy::echo-policy",
        "aws:lambda/function:Function::echo",
      ]);
    });
  });

  describe("IAM", () => {
    it("has its own role that only Lambda can assume", async () => {
      const run = await build();
      const role = named(run, "aws:iam/role:Role", "echo-role");
      assert.deepEqual(policyOf(role, "assumeRolePolicy").Statement, [
        { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
      ]);
      const fn = named(run, "aws:lambda/function:Function", "echo");
      assert.equal(fn.rawInputs.role, role.state.arn);
      assert.equal(ofType(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").length, 0, "no managed policies");
    });

    it("holds the basic execution statement on its own log group plus exactly the statements passed", async () => {
      const passed = { Sid: "ReadUsers", Action: ["dynamodb:GetItem"], Resource: ["arn:aws:dynamodb:eu-west-2:123456789012:table/users"] };
      const run = await build({ statements: [passed] });
      const logGroup = named(run, "aws:cloudwatch/logGroup:LogGroup", "echo-logs");
      assert.deepEqual(statementsOf(run), [
        {
          Effect: "Allow",
          Sid: "WriteOwnLogs",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: [`${logGroup.state.arn}:*`],
        },
        { Effect: "Allow", ...passed },
      ]);
    });

    it("holds only the log statement when nothing is passed", async () => {
      const run = await build();
      assert.deepEqual(
        statementsOf(run).map((s) => s.Sid),
        ["WriteOwnLogs"],
      );
    });
  });

  describe("logs", () => {
    it("logs JSON to its own log group with the stage's retention", async () => {
      const run = await build({ platform: { ...TEST_PLATFORM, logRetentionDays: 90 } });
      const logGroup = named(run, "aws:cloudwatch/logGroup:LogGroup", "echo-logs");
      assert.equal(logGroup.inputs.retentionInDays, 90);
      const fn = named(run, "aws:lambda/function:Function", "echo");
      assert.deepEqual(fn.rawInputs.loggingConfig, { logFormat: "JSON", logGroup: logGroup.state.name });
    });
  });

  describe("asynchronous invocations", () => {
    it("sends failed events to an on-failure destination queue kept 14 days, with retry bounds and alarms", async () => {
      const run = await buildAsync({ maximumRetryAttempts: 1, maximumEventAgeSeconds: 3600 });
      const queue = named(run, "aws:sqs/queue:Queue", "echo-failures");
      assert.equal(queue.inputs.messageRetentionSeconds, DEAD_LETTER_RETENTION_SECONDS);
      assert.equal(queue.inputs.messageRetentionSeconds, 1209600);
      assert.equal(queue.inputs.sqsManagedSseEnabled, true);

      const config = named(run, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "echo-async");
      const fn = named(run, "aws:lambda/function:Function", "echo");
      assert.equal(config.rawInputs.functionName, fn.state.name);
      assert.equal(config.inputs.maximumRetryAttempts, 1);
      assert.equal(config.inputs.maximumEventAgeInSeconds, 3600);
      assert.deepEqual(config.rawInputs.destinationConfig, { onFailure: { destination: queue.state.arn } });
      assert.equal(fn.inputs.deadLetterConfig, undefined);

      const send = statementsOf(run).find((s) => s.Sid === "KeepFailedEvents");
      assert.deepEqual(send, { Effect: "Allow", Sid: "KeepFailedEvents", Action: ["sqs:SendMessage"], Resource: [queue.state.arn] });

      const depth = named(run, "aws:cloudwatch/metricAlarm:MetricAlarm", "echo-failures-depth");
      assert.equal(depth.inputs.namespace, "AWS/SQS");
      assert.equal(depth.inputs.metricName, "ApproximateNumberOfMessagesVisible");
      assert.deepEqual(depth.rawInputs.dimensions, { QueueName: queue.state.name });
      assert.equal(depth.inputs.threshold, TEST_PLATFORM.alarming.settings.deadLetterDepthThreshold);
      assert.deepEqual(depth.inputs.alarmActions, TEST_PLATFORM.alarming.actions);

      const errors = named(run, "aws:cloudwatch/metricAlarm:MetricAlarm", "echo-errors");
      assert.equal(errors.inputs.namespace, "AWS/Lambda");
      assert.equal(errors.inputs.metricName, "Errors");
      assert.deepEqual(errors.rawInputs.dimensions, { FunctionName: fn.state.name });
      assert.equal(errors.inputs.threshold, TEST_PLATFORM.alarming.settings.lambdaErrorsThreshold);
      assert.deepEqual(errors.inputs.alarmActions, TEST_PLATFORM.alarming.actions);
    });

    it("can use the queue as the function's dead-letter queue instead", async () => {
      const run = await buildAsync({ maximumRetryAttempts: 2, maximumEventAgeSeconds: 21600, failureTarget: "dead-letter-queue" });
      const queue = named(run, "aws:sqs/queue:Queue", "echo-failures");
      const fn = named(run, "aws:lambda/function:Function", "echo");
      assert.deepEqual(fn.rawInputs.deadLetterConfig, { targetArn: queue.state.arn });
      const config = named(run, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "echo-async");
      assert.equal(config.inputs.destinationConfig, undefined);
      assert.equal(config.inputs.maximumRetryAttempts, 2);
    });

    it("creates no queue or invoke config for a function that is not invoked asynchronously", async () => {
      const run = await build();
      assert.equal(ofType(run, "aws:sqs/queue:Queue").length, 0);
      assert.equal(ofType(run, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").length, 0);
    });
  });

  describe("image variant", () => {
    it("runs an ECR image with the same role, log group, alarms and failure queue", async () => {
      const imageUri = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/skills@sha256:abc";
      const run = await runProgram(
        () =>
          new NodeImageFunction("sync", {
            imageUri,
            handler: "skill-sync",
            memorySize: 512,
            timeout: 600,
            platform: { ...TEST_PLATFORM, logRetentionDays: 30 },
            asyncInvocation: { maximumRetryAttempts: 0, maximumEventAgeSeconds: 600, failureQueue: failureQueue("sync") },
          }),
        { stack: "test" },
      );
      const fn = named(run, "aws:lambda/function:Function", "sync");
      assert.equal(fn.inputs.packageType, "Image");
      assert.equal(fn.inputs.imageUri, imageUri);
      assert.equal(fn.inputs.runtime, undefined);
      assert.equal(fn.inputs.handler, undefined);
      assert.equal(fn.inputs.code, undefined);
      assert.deepEqual(fn.inputs.architectures, ["arm64"]);
      assert.equal(fn.inputs.memorySize, 512);
      assert.equal(fn.inputs.timeout, 600);
      assert.equal(named(run, "aws:cloudwatch/logGroup:LogGroup", "sync-logs").inputs.retentionInDays, 30);
      assert.ok(named(run, "tributary:lambda:NodeImageFunction", "sync"));
      assert.ok(named(run, "aws:sqs/queue:Queue", "sync-failures"));
      assert.ok(named(run, "aws:cloudwatch/metricAlarm:MetricAlarm", "sync-errors"));
      assert.deepEqual(
        policyOf(named(run, "aws:iam/rolePolicy:RolePolicy", "sync-policy")).Statement.map((s: any) => s.Sid),
        ["WriteOwnLogs", "KeepFailedEvents"],
      );
    });
  });
});
