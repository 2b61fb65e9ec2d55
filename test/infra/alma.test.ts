import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { CACHE_FUNCTIONS } from "../../apps/alma/alma-cache";
import { SECRETS_EXTENSION_LAYERS } from "../../components/lambda/secrets-extension";
import { ALMA_EVENTS } from "../../handlers/lib/env-names";
import {
  findSecretLeaks,
  named,
  ofType,
  policyOf,
  type RecordedResource,
  type RunResult,
  runStack,
  stackRun,
  SECRET_MARK,
} from "../../tooling/mock-engine";
import { runVariant, stackSettings } from "../helpers/stack-variant";
import { REPO_ROOT } from "../../paths";

/** The topics prod adopts, by event. */
const PROD_TOPICS: Record<string, string> = stackSettings("prod")["tributary:alma"].topicArns;

/** The table of the issue, written out: function → topics. */
const SUBSCRIPTIONS = {
  "alma-loan-updated": ["LOAN_CREATED", "LOAN_RENEWED", "LOAN_DUE_DATE"],
  "alma-loan-returned": ["LOAN_RETURNED"],
  "alma-request-updated": ["REQUEST_CREATED", "REQUEST_PLACED_ON_SHELF"],
  "alma-request-closed": ["REQUEST_CLOSED", "REQUEST_CANCELED"],
};
const slug = (e: string) => e.toLowerCase().replace(/_/g, "-");

describe("alma (AlmaCache)", () => {
  let dev: RunResult;
  let staging: RunResult;
  let prod: RunResult;
  before(async function () {
    this.timeout(90_000);
    dev = await stackRun("dev");
    staging = await stackRun("staging");
    prod = await stackRun("prod");
  });

  const fn = (run: RunResult, handler: string) => named(run, "aws:lambda/function:Function", handler);
  const table = (run: RunResult, t: string) => named(run, "aws:dynamodb/table:Table", `alma-${t}`);
  const queue = (run: RunResult, q: string) => named(run, "aws:sqs/queue:Queue", q);
  const topicArn = (run: RunResult, event: string) => named(run, "aws:sns/topic:Topic", `alma-topic-${slug(event)}`).state.arn;
  const statements = (run: RunResult, handler: string) =>
    policyOf(named(run, "aws:iam/rolePolicy:RolePolicy", `${handler}-policy`)).Statement;

  describe("tables", () => {
    const KEYS = {
      users: ["primary_id", "expiry_date"],
      loans: ["loan_id", "expiry_date"],
      requests: ["request_id", "record_expiry_date"],
    };
    for (const [name, [hashKey, ttl]] of Object.entries(KEYS)) {
      it(`${name}: hash key ${hashKey} (S), TTL ${ttl}, on demand, encrypted`, () => {
        const t = table(dev, name).inputs;
        assert.equal(t.hashKey, hashKey);
        assert.deepEqual(t.attributes, [{ name: hashKey, type: "S" }]);
        assert.deepEqual(t.ttl, { attributeName: ttl, enabled: true });
        assert.equal(t.billingMode, "PAY_PER_REQUEST");
        assert.deepEqual(t.serverSideEncryption, { enabled: true });
      });
    }

    it("keeps its own tombstones table (id, TTL expires_at), never adopted, and names it to the functions", () => {
      for (const run of [dev, prod]) {
        const tombstones = table(run, "tombstones");
        assert.equal(tombstones.inputs.hashKey, "id");
        assert.deepEqual(tombstones.inputs.ttl, { attributeName: "expires_at", enabled: true });
        assert.equal(tombstones.options.import, undefined);
        for (const spec of CACHE_FUNCTIONS)
          assert.equal(fn(run, spec.handler).rawInputs.environment.variables.TOMBSTONES_TABLE_NAME, tombstones.state.name);
      }
    });

    it("have point-in-time recovery and deletion protection in prod only, where the stack creates them", () => {
      for (const name of Object.keys(KEYS)) assert.deepEqual(table(dev, name).inputs.pointInTimeRecovery, { enabled: false });
      // prod adopts the three cache tables (see adoption.test.ts) and creates the tombstones table.
      const tombstones = named(prod, "aws:dynamodb/table:Table", "alma-tombstones");
      assert.deepEqual(tombstones.inputs.pointInTimeRecovery, { enabled: true });
      assert.equal(tombstones.inputs.deletionProtectionEnabled, true);
    });
  });

  describe("topics and subscriptions", () => {
    it("creates the eight topics, encrypted, when config names none", () => {
      const topics = ofType(dev, "aws:sns/topic:Topic").filter((t) => t.name.startsWith("alma-"));
      assert.deepEqual(topics.map((t) => t.name).sort(), ALMA_EVENTS.map((e) => `alma-topic-${slug(e)}`).sort());
      for (const t of topics) assert.equal(t.inputs.kmsMasterKeyId, "alias/aws/sns");
    });

    it("adopts the existing topics that config names (prod), importing each by its ARN", () => {
      for (const event of ALMA_EVENTS) {
        const topic = named(prod, "aws:sns/topic:Topic", `alma-topic-${slug(event)}`);
        assert.equal(topic.options.import, PROD_TOPICS[event]);
        assert.equal(topic.state.arn, PROD_TOPICS[event]);
      }
    });

    it("follows the issue's table of functions and topics", () => {
      assert.deepEqual(Object.fromEntries(CACHE_FUNCTIONS.map((f) => [f.handler, f.topics])), SUBSCRIPTIONS);
    });

    for (const run of ["dev", "prod"] as const) {
      it(`subscribes each function's queue to the function's topics, as SNS notifications, with SNS's own failures kept (${run})`, () => {
        const r = run === "dev" ? dev : prod;
        for (const [handler, events] of Object.entries(SUBSCRIPTIONS)) {
          const short = handler.replace("alma-", "");
          for (const event of events) {
            const subscription = named(r, "aws:sns/topicSubscription:TopicSubscription", `alma-${short}-${slug(event)}`);
            assert.equal(subscription.rawInputs.topic, topicArn(r, event));
            assert.equal(subscription.inputs.protocol, "sqs");
            assert.equal(subscription.rawInputs.endpoint, queue(r, `alma-${short}-queue`).state.arn);
            assert.equal(
              subscription.inputs.rawMessageDelivery,
              false,
              "the body is the SNS notification: Type, MessageId, TopicArn, Message, Timestamp",
            );
            assert.deepEqual(JSON.parse(subscription.rawInputs.redrivePolicy), {
              deadLetterTargetArn: queue(r, "alma-failed-events").state.arn,
            });
          }
        }
        assert.equal(ofType(r, "aws:sns/topicSubscription:TopicSubscription").filter((s) => s.name.startsWith("alma-")).length, 8);
        assert.deepEqual(
          ofType(r, "aws:lambda/permission:Permission").filter((p) => p.inputs.principal === "sns.amazonaws.com"),
          [],
          "SNS invokes no function",
        );
      });
    }
  });

  describe("the cache functions' queues", () => {
    it("gives each function a queue of its own, created, encrypted, kept 14 days, visible again after 6 × the function's timeout", () => {
      for (const run of [dev, staging, prod]) {
        for (const handler of Object.keys(SUBSCRIPTIONS)) {
          const q = queue(run, `${handler}-queue`);
          assert.equal(q.options.import, undefined, "never adopted");
          assert.equal(q.inputs.name, undefined, "auto-named");
          assert.equal(q.inputs.sqsManagedSseEnabled, true);
          assert.equal(q.inputs.messageRetentionSeconds, 14 * 24 * 3600);
          assert.equal(fn(run, handler).inputs.timeout, 30);
          assert.equal(q.inputs.visibilityTimeoutSeconds, 180);
        }
      }
      assert.equal(queue(prod, "alma-loan-updated-queue").options.protect, true, "a stateful resource: protected in prod");
    });

    it("retries a message 5 times, then keeps it in alma-failed-events (tagged, 14 days, alarmed)", () => {
      const failed = queue(dev, "alma-failed-events");
      for (const handler of Object.keys(SUBSCRIPTIONS)) {
        assert.deepEqual(JSON.parse(queue(dev, `${handler}-queue`).rawInputs.redrivePolicy), {
          deadLetterTargetArn: failed.state.arn,
          maxReceiveCount: 5,
        });
      }
      assert.equal(failed.inputs.messageRetentionSeconds, 1209600);
      assert.equal(failed.inputs.tags["tributary:dead-letter-queue"], "true");
      assert.deepEqual(named(dev, "aws:cloudwatch/metricAlarm:MetricAlarm", "alma-failed-events-depth").rawInputs.dimensions, {
        QueueName: failed.state.name,
      });
    });

    it("lets SNS send to a queue only from that function's topics, and nobody use it except over TLS", () => {
      for (const [handler, events] of Object.entries(SUBSCRIPTIONS)) {
        const q = queue(dev, `${handler}-queue`);
        const policy = named(dev, "aws:sqs/queuePolicy:QueuePolicy", `${handler}-queue-policy`);
        assert.equal(policy.rawInputs.queueUrl, q.state.url);
        assert.deepEqual(policyOf(policy).Statement, [
          ...events.map((e) => ({
            Effect: "Allow",
            Principal: { Service: "sns.amazonaws.com" },
            Action: "sqs:SendMessage",
            Resource: q.state.arn,
            Condition: { ArnEquals: { "aws:SourceArn": topicArn(dev, e) } },
          })),
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "sqs:*",
            Resource: [q.state.arn],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ]);
      }
    });

    it("lets SNS put what it cannot deliver to any of the eight topics' subscribers in alma-failed-events", () => {
      const policy = policyOf(named(dev, "aws:sqs/queuePolicy:QueuePolicy", "alma-failed-events-policy"));
      assert.deepEqual(
        policy.Statement.filter((s: any) => s.Effect === "Allow").map((s: any) => [
          s.Principal.Service,
          s.Condition.ArnEquals["aws:SourceArn"],
        ]),
        ALMA_EVENTS.map((e) => ["sns.amazonaws.com", topicArn(dev, e)]),
      );
      assert.deepEqual(
        policy.Statement.filter((s: any) => s.Effect !== "Allow").map((s: any) => s.Sid),
        ["DenyInsecureTransport"],
      );
    });

    it("alarms when a message has waited a day in a queue, well before its 14 days are up", () => {
      for (const handler of Object.keys(SUBSCRIPTIONS)) {
        const alarm = named(dev, "aws:cloudwatch/metricAlarm:MetricAlarm", `${handler}-queue-age`);
        assert.equal(alarm.inputs.namespace, "AWS/SQS");
        assert.equal(alarm.inputs.metricName, "ApproximateAgeOfOldestMessage");
        assert.deepEqual(alarm.rawInputs.dimensions, { QueueName: queue(dev, `${handler}-queue`).state.name });
        assert.equal(alarm.inputs.threshold, 86400);
        assert.deepEqual(alarm.rawInputs.alarmActions, [named(dev, "aws:sns/topic:Topic", "alerts").state.arn]);
      }
    });

    it("feeds each function from its queue in batches of 10, reporting failed records, at most 5 at once, enabled", () => {
      for (const run of [dev, prod]) {
        for (const handler of Object.keys(SUBSCRIPTIONS)) {
          const mapping = named(run, "aws:lambda/eventSourceMapping:EventSourceMapping", `${handler}-events`);
          assert.equal(mapping.rawInputs.eventSourceArn, queue(run, `${handler}-queue`).state.arn);
          assert.equal(mapping.rawInputs.functionName, fn(run, handler).state.arn);
          assert.equal(mapping.inputs.batchSize, 10);
          assert.deepEqual(mapping.inputs.functionResponseTypes, ["ReportBatchItemFailures"]);
          assert.deepEqual(mapping.inputs.scalingConfig, { maximumConcurrency: 5 });
          assert.equal(mapping.inputs.enabled, true);
        }
      }
      assert.equal(ofType(dev, "aws:lambda/eventSourceMapping:EventSourceMapping").filter((m) => m.name.startsWith("alma-")).length, 4);
    });

    it("is not invoked asynchronously any more: no async retry config, but an errors alarm each", () => {
      for (const handler of Object.keys(SUBSCRIPTIONS)) {
        assert.equal(
          ofType(dev, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").find((c) => c.name === `${handler}-async`),
          undefined,
        );
        assert.deepEqual(named(dev, "aws:cloudwatch/metricAlarm:MetricAlarm", `${handler}-errors`).rawInputs.dimensions, {
          FunctionName: fn(dev, handler).state.name,
        });
        assert.equal(fn(dev, handler).inputs.deadLetterConfig, undefined);
      }
    });

    it("pauses: alma.paused disables the four mappings, so that events wait in the queues; alma.maximumConcurrency sets their concurrency", async function () {
      this.timeout(60_000);
      const settings = parseYaml(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8"));
      settings.config["tributary:alma"] = { ...settings.config["tributary:alma"], paused: true, maximumConcurrency: 2 };
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "alma-paused-")), "Pulumi.dev.yaml");
      fs.writeFileSync(file, toYaml(settings));
      const paused = await runStack("dev", { settingsFile: file });
      for (const handler of Object.keys(SUBSCRIPTIONS)) {
        const mapping = named(paused, "aws:lambda/eventSourceMapping:EventSourceMapping", `${handler}-events`);
        assert.equal(mapping.inputs.enabled, false);
        assert.deepEqual(mapping.inputs.scalingConfig, { maximumConcurrency: 2 });
        // Everything else stays: the queues keep filling from the topics.
        assert.equal(
          named(
            paused,
            "aws:sns/topicSubscription:TopicSubscription",
            `${handler}-${slug(SUBSCRIPTIONS[handler as keyof typeof SUBSCRIPTIONS][0])}`,
          ).inputs.protocol,
          "sqs",
        );
      }
      const urns = (run: RunResult) => run.resources.map((r) => r.urn).sort();
      assert.deepEqual(urns(paused), urns(dev), "pausing changes no resource but the mappings' settings");
    });
  });

  describe("users queue", () => {
    it("sends a message to its DLQ after 3 receives; both encrypted; the DLQ keeps 14 days and is alarmed", () => {
      const users = queue(dev, "alma-users");
      const dlq = queue(dev, "alma-users-dlq");
      assert.deepEqual(JSON.parse(users.rawInputs.redrivePolicy), { deadLetterTargetArn: dlq.state.arn, maxReceiveCount: 3 });
      assert.equal(users.inputs.sqsManagedSseEnabled, true);
      assert.equal(dlq.inputs.sqsManagedSseEnabled, true);
      assert.equal(dlq.inputs.messageRetentionSeconds, 1209600);
      const alarm = named(dev, "aws:cloudwatch/metricAlarm:MetricAlarm", "alma-users-dlq-depth");
      assert.deepEqual(alarm.rawInputs.dimensions, { QueueName: dlq.state.name });
      assert.equal(alarm.inputs.metricName, "ApproximateNumberOfMessagesVisible");
    });

    it("has SQS's default visibility timeout without a consumer timeout, and keeps an adopted queue's own", () => {
      assert.equal(queue(dev, "alma-users").inputs.visibilityTimeoutSeconds, 30);
      for (const run of [staging, prod]) {
        assert.equal(queue(run, "alma-users").inputs.visibilityTimeoutSeconds, undefined);
        assert.ok(queue(run, "alma-users").options.ignoreChanges.includes("visibilityTimeoutSeconds"));
      }
    });

    it("has a visibility timeout of 6 times its consumer's timeout when one is configured", async function () {
      this.timeout(60_000);
      const run = await runVariant("dev", (config) => {
        config["tributary:alma"].usersQueueConsumerTimeoutSeconds = 60;
      });
      assert.equal(queue(run, "alma-users").inputs.visibilityTimeoutSeconds, 360);
    });
  });

  describe("IAM", () => {
    it("lets each cache function make only the requests it makes, on exact ARNs", () => {
      const users = table(dev, "users").state.arn;
      const usersQueue = queue(dev, "alma-users").state.arn;
      const tombstones = table(dev, "tombstones").state.arn;
      const expected: Record<string, [string[], string[]]> = {
        "alma-loan-updated": [["dynamodb:PutItem", "dynamodb:DeleteItem"], ["dynamodb:GetItem"]],
        "alma-loan-returned": [["dynamodb:DeleteItem"], ["dynamodb:UpdateItem"]],
        "alma-request-updated": [["dynamodb:PutItem", "dynamodb:DeleteItem"], ["dynamodb:GetItem"]],
        "alma-request-closed": [["dynamodb:DeleteItem"], ["dynamodb:UpdateItem"]],
      };
      for (const spec of CACHE_FUNCTIONS) {
        const all = statements(dev, spec.handler);
        assert.deepEqual(
          all.map((s: any) => s.Sid).filter((sid: string) => sid === "KeepFailedEvents"),
          [],
          "no asynchronous failure destination to send to",
        );
        const own = all.filter((s: any) => s.Sid !== "WriteOwnLogs");
        const [itemActions, tombstoneActions] = expected[spec.handler];
        assert.deepEqual(own, [
          { Effect: "Allow", Sid: "WriteOwnTable", Action: itemActions, Resource: [table(dev, spec.table).state.arn] },
          { Effect: "Allow", Sid: "KeepTombstones", Action: tombstoneActions, Resource: [tombstones] },
          { Effect: "Allow", Sid: "LinkToUser", Action: ["dynamodb:GetItem", "dynamodb:UpdateItem"], Resource: [users] },
          { Effect: "Allow", Sid: "QueueUnknownUsers", Action: ["sqs:SendMessage"], Resource: [usersQueue] },
          {
            Effect: "Allow",
            Sid: "ReadOwnQueue",
            Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"],
            Resource: [queue(dev, `${spec.handler}-queue`).state.arn],
          },
        ]);
      }
    });

    it("uses no wildcard action or resource in any statement", () => {
      for (const run of [dev, prod]) {
        for (const policy of ofType(run, "aws:iam/rolePolicy:RolePolicy").filter((p) => p.name.startsWith("alma-"))) {
          for (const s of policyOf(policy).Statement) {
            for (const action of [s.Action].flat()) assert.ok(!action.includes("*"), `${policy.name}: ${action}`);
            for (const resource of [s.Resource].flat()) assert.notEqual(resource, "*", `${policy.name}`);
          }
        }
      }
    });
  });

  describe("webhook", () => {
    const route = (run: RunResult, key: string): RecordedResource | undefined =>
      ofType(run, "aws:apigatewayv2/route:Route").find((r) => r.inputs.routeKey === key);

    it("serves POST and GET at /webhook, at the root, and at any other path, invoking the webhook function", () => {
      const api = named(dev, "aws:apigatewayv2/api:Api", "alma-webhook-api");
      assert.equal(api.inputs.protocolType, "HTTP");
      const webhook = fn(dev, "alma-webhook");
      for (const key of ["POST /webhook", "GET /webhook", "POST /", "GET /", "POST /{proxy+}", "GET /{proxy+}"]) {
        const r = route(dev, key)!;
        assert.equal(r.rawInputs.apiId, api.id);
        const integration = ofType(dev, "aws:apigatewayv2/integration:Integration").find(
          (i) => r.rawInputs.target === `integrations/${i.id}`,
        )!;
        assert.equal(integration.inputs.integrationType, "AWS_PROXY");
        assert.equal(integration.rawInputs.integrationUri, webhook.state.arn);
        assert.equal(integration.inputs.payloadFormatVersion, "2.0");
      }
      const permission = named(dev, "aws:lambda/permission:Permission", "alma-webhook-api-post-webhook-invoke");
      assert.equal(permission.inputs.principal, "apigateway.amazonaws.com");
      assert.equal(permission.rawInputs.sourceArn, `${api.state.executionArn}/*/POST/webhook`);
      assert.equal(
        named(dev, "aws:lambda/permission:Permission", "alma-webhook-api-post-invoke").rawInputs.sourceArn,
        `${api.state.executionArn}/*/POST/`,
      );
      assert.equal(
        named(dev, "aws:lambda/permission:Permission", "alma-webhook-api-post-proxy-invoke").rawInputs.sourceArn,
        `${api.state.executionArn}/*/POST/{proxy+}`,
      );
      const stage = named(dev, "aws:apigatewayv2/stage:Stage", "alma-webhook-api-default");
      assert.equal(stage.inputs.name, "$default");
      assert.equal(
        stage.rawInputs.accessLogSettings.destinationArn,
        named(dev, "aws:cloudwatch/logGroup:LogGroup", "alma-webhook-api-access-logs").state.arn,
      );
      assert.equal(dev.outputs.almaCache.webhookUrl, `${api.state.apiEndpoint}/webhook`);
    });

    it("publishes only to the eight topics, and reads its secret from SSM, never from its environment", () => {
      const webhook = fn(dev, "alma-webhook");
      const env = webhook.rawInputs.environment.variables;
      for (const event of ALMA_EVENTS) assert.equal(env[`TOPIC_ARN_${event}`], topicArn(dev, event));
      const parameter = named(dev, "aws:ssm/parameter:Parameter", "alma-webhook-secret");
      assert.equal(parameter.inputs.type, "SecureString");
      assert.equal(parameter.inputs.value, SECRET_MARK);
      assert.equal(env.ALMA_WEBHOOK_SECRET_PARAM, parameter.state.name);
      assert.equal(env.ALMA_WEBHOOK_SECRET, undefined);
      assert.equal(env.TRIBUTARY_SECRETS_MAX_AGE_SECONDS, "300", "the secret is read again every 5 minutes by default");
      assert.equal(
        env.ALMA_WEBHOOK_SECRET_ROTATION_WINDOW_HOURS,
        "24",
        "the previous secret is accepted for a day after a rotation by default",
      );
      const own = statements(dev, "alma-webhook").filter((s: any) => s.Sid !== "WriteOwnLogs");
      assert.deepEqual(own, [
        { Effect: "Allow", Sid: "PublishAlmaEvents", Action: ["sns:Publish"], Resource: ALMA_EVENTS.map((e) => topicArn(dev, e)) },
        { Effect: "Allow", Sid: "ReadOwnSecret", Action: ["ssm:GetParameter"], Resource: [parameter.state.arn] },
      ]);
      assert.deepEqual(webhook.inputs.layers, [SECRETS_EXTENSION_LAYERS["eu-west-2"]], "read through the Parameters and Secrets extension");
      assert.equal(
        env.PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED,
        "FALSE",
        "every read reaches SSM: the rotation window needs what SSM has now",
      );
      for (const { handler } of CACHE_FUNCTIONS) assert.equal(fn(dev, handler).inputs.layers, undefined, `${handler} reads no secret`);
      assert.deepEqual(findSecretLeaks(dev), []);
    });

    it("takes the rotation window and how long a secret is used from config", async () => {
      const run = await runVariant("dev", (config) => {
        config["tributary:alma"].webhookSecretRotationWindowHours = 0;
        config["tributary:secretsMaxAgeSeconds"] = 60;
      });
      const env = fn(run, "alma-webhook").rawInputs.environment.variables;
      assert.equal(env.ALMA_WEBHOOK_SECRET_ROTATION_WINDOW_HOURS, "0");
      assert.equal(env.TRIBUTARY_SECRETS_MAX_AGE_SECONDS, "60");
    });

    it("is served in every stack, adopted topics included, so that Alma's URL can move to it", () => {
      for (const run of [dev, staging, prod]) {
        const api = named(run, "aws:apigatewayv2/api:Api", "alma-webhook-api");
        assert.equal(run.outputs.almaCache.webhookUrl, `${api.state.apiEndpoint}/webhook`);
      }
      const env = fn(prod, "alma-webhook").rawInputs.environment.variables;
      for (const event of ALMA_EVENTS) assert.equal(env[`TOPIC_ARN_${event}`], PROD_TOPICS[event]);
    });
  });

  it("gives the cache functions the environment names the handlers read", () => {
    for (const spec of CACHE_FUNCTIONS) {
      const env = fn(dev, spec.handler).rawInputs.environment.variables;
      assert.equal(env.USERS_TABLE_NAME, table(dev, "users").state.name);
      assert.equal(env.LOANS_TABLE_NAME, table(dev, "loans").state.name);
      assert.equal(env.REQUESTS_TABLE_NAME, table(dev, "requests").state.name);
      assert.equal(env.USERS_QUEUE_URL, queue(dev, "alma-users").state.url);
    }
  });

  it("exports table names and ARNs, the queues, the topic ARNs and the webhook URL", () => {
    const out = dev.outputs.almaCache;
    assert.deepEqual(out.tables.users, { name: table(dev, "users").state.name, arn: table(dev, "users").state.arn });
    assert.deepEqual(Object.keys(out.cacheQueues).sort(), Object.keys(SUBSCRIPTIONS).sort());
    assert.deepEqual(out.cacheQueues["alma-loan-updated"], {
      url: queue(dev, "alma-loan-updated-queue").state.url,
      arn: queue(dev, "alma-loan-updated-queue").state.arn,
    });
    assert.deepEqual(out.usersQueue, { url: queue(dev, "alma-users").state.url, arn: queue(dev, "alma-users").state.arn });
    assert.deepEqual(Object.keys(out.topicArns).sort(), [...ALMA_EVENTS].sort());
    assert.equal(prod.outputs.almaCache.topicArns.LOAN_CREATED, PROD_TOPICS.LOAN_CREATED);
  });
});
