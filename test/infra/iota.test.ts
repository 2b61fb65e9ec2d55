import * as assert from "node:assert/strict";
import { findSecretLeaks, named, ofType, policyOf, type RunResult, stackRun, SECRET_MARK } from "../../tooling/mock-engine";
import { SECRETS_EXTENSION_LAYERS } from "../../components/lambda/secrets-extension";
import { STAGES } from "../../components/platform";
import { variantConfigError } from "../helpers/stack-variant";

describe("iota (IotaService)", () => {
  const runs: Record<string, RunResult> = {};
  before(async function () {
    this.timeout(90_000);
    for (const stack of STAGES) runs[stack] = await stackRun(stack);
  });
  const fn = (run: RunResult) => named(run, "aws:lambda/function:Function", "iota-records-fn");

  it("deploys the example records service in every stack", () => {
    for (const [stack, run] of Object.entries(runs)) {
      assert.ok(named(run, "tributary:iota:IotaService", "iota-records"), stack);
      const bundle = named(run, "tributary:lambda:NodeFunction", "iota-records-fn").outputs.bundle;
      assert.deepEqual(
        [bundle.handler, bundle.runtimeAwsSdk],
        ["iota-records", false],
        "the SDK is bundled: it loads faster than the runtime's",
      );
      assert.equal(fn(run).inputs.code.archive["index.js"].path, `.build/bundles/${bundle.sha256}/index.js`);
    }
  });

  it("creates one bus for all services when config names none, and adopts the existing one otherwise", () => {
    const bus = named(runs.dev, "aws:cloudwatch/eventBus:EventBus", "iota-bus");
    assert.equal(bus.options.import, undefined);
    assert.equal(fn(runs.dev).rawInputs.environment.variables.MILL_IOTA_EVENTBUS_NAME, bus.state.name);
    const adopted = named(runs.prod, "aws:cloudwatch/eventBus:EventBus", "iota-bus");
    assert.equal(adopted.options.import, "iota-prod");
    assert.equal(ofType(runs.prod, "aws:cloudwatch/eventBus:EventBus").filter((b) => b.name.startsWith("iota")).length, 1);
    assert.equal(fn(runs.prod).rawInputs.environment.variables.MILL_IOTA_EVENTBUS_NAME, "iota-prod");
  });

  it("matches the consumed CloudEvent types on the bus, with a retry policy and a DLQ on the target", () => {
    const run = runs.dev;
    const rule = named(run, "aws:cloudwatch/eventRule:EventRule", "iota-records-rule");
    assert.equal(rule.rawInputs.eventBusName, named(run, "aws:cloudwatch/eventBus:EventBus", "iota-bus").state.name);
    assert.deepEqual(JSON.parse(rule.inputs.eventPattern), {
      "detail-type": ["application/cloudevents+json"],
      detail: { type: ["cmd.record.create.v0"] },
    });
    const target = named(run, "aws:cloudwatch/eventTarget:EventTarget", "iota-records-rule-target");
    const dlq = named(run, "aws:sqs/queue:Queue", "iota-records-failed-events");
    assert.equal(target.rawInputs.arn, fn(run).state.arn);
    assert.deepEqual(target.inputs.retryPolicy, { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 });
    assert.deepEqual(target.rawInputs.deadLetterConfig, { arn: dlq.state.arn });
    assert.equal(dlq.inputs.messageRetentionSeconds, 1209600);
    const invokeConfig = named(run, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "iota-records-fn-async");
    assert.deepEqual(invokeConfig.rawInputs.destinationConfig, { onFailure: { destination: dlq.state.arn } });
  });

  it("may put events on its bus only, and read its own parameter only", () => {
    for (const run of [runs.dev, runs.prod]) {
      const parameter = named(run, "aws:ssm/parameter:Parameter", "iota-records-mongo-uri");
      const busArn = named(run, "aws:cloudwatch/eventBus:EventBus", "iota-bus").state.arn;
      const statements = policyOf(named(run, "aws:iam/rolePolicy:RolePolicy", "iota-records-fn-policy")).Statement.map((s: any) => [
        s.Sid,
        s.Action,
        s.Resource,
      ]);
      assert.deepEqual(statements.slice(1), [
        ["EmitToOwnBus", ["events:PutEvents"], [busArn]],
        ["ReadOwnSecret", ["ssm:GetParameter"], [parameter.state.arn]],
        ["KeepFailedEvents", ["sqs:SendMessage"], [named(run, "aws:sqs/queue:Queue", "iota-records-failed-events").state.arn]],
      ]);
    }
  });

  it("keeps the MongoDB URI in an SSM SecureString and gives the function its name, with with-iota's variables", () => {
    const run = runs.staging;
    const parameter = named(run, "aws:ssm/parameter:Parameter", "iota-records-mongo-uri");
    assert.equal(parameter.inputs.type, "SecureString");
    assert.equal(parameter.inputs.value, SECRET_MARK);
    const env = fn(run).rawInputs.environment.variables;
    assert.equal(env.MILL_IOTA_MONGO_URI_PARAM, parameter.state.name);
    assert.equal(env.MILL_IOTA_MONGO_URI, undefined);
    assert.equal(env.MILL_IOTA_MONGO_DB, "iota_staging");
    assert.equal(env.MILL_IOTA_JOURNAL_RETENTION_DAYS, "15");
    assert.equal(env.MILL_IOTA_SERVICE_ID, "records.tributary.staging");
    assert.deepEqual(
      fn(run).inputs.layers,
      [SECRETS_EXTENSION_LAYERS["eu-west-2"]],
      "the URI is read through the Parameters and Secrets extension",
    );
    assert.equal(env.PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED, "FALSE");
    assert.deepEqual(findSecretLeaks(run), []);
  });

  it("keeps the journal at least as long as an event can come back (its DLQ's 14 days after a day of retries): a shorter retention fails, naming the key", async () => {
    const err = await variantConfigError("dev", (config) => (config["tributary:iota"].journalRetentionDays = 7));
    assert.deepEqual(
      err.problems.map((p) => p.key),
      ["tributary:iota.journalRetentionDays"],
    );
    assert.match(
      err.problems[0].message,
      /at least 15: the dead-letter queue keeps an event 14 days, after up to 24 h of EventBridge's retries/,
    );
  });

  it("exports the bus and the service functions", () => {
    assert.deepEqual(runs.prod.outputs.iota, {
      eventBusName: "iota-prod",
      functions: { "records.tributary": fn(runs.prod).state.name },
      dashboard: {
        name: "tributary-prod-iota",
        url: "https://eu-west-2.console.aws.amazon.com/cloudwatch/home?region=eu-west-2#dashboards/dashboard/tributary-prod-iota",
      },
    });
  });
});
