import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { LESSON_EVENT_PATTERN, TRIGGER_MATCH } from "../../apps/lessons/lesson-completion-sync";
import { SECRETS_EXTENSION_LAYERS } from "../../components/lambda/secrets-extension";
import { LESSONS_ENV } from "../../handlers/lib/env-names";
import { findSecretLeaks, named, ofType, policyOf, type RunResult, stackRun, SECRET_MARK } from "../../tooling/mock-engine";
import { payloadPath } from "../helpers/fixtures";
import { runVariant, stackSettings, variantConfigError } from "../helpers/stack-variant";
import { REPO_ROOT } from "../../paths";

const FIXTURE_PROJECT = JSON.parse(fs.readFileSync(payloadPath("atlas-trigger", "mongo_trigger_project_expr.json"), "utf8"));

describe("lessons (LessonCompletionSync)", () => {
  let dev: RunResult;
  let prod: RunResult;
  before(async function () {
    this.timeout(60_000);
    dev = await stackRun("dev");
    prod = await stackRun("prod");
  });

  const trigger = (run: RunResult) => named(run, "mongodbatlas:index/eventTrigger:EventTrigger", "lessons-trigger");
  const fn = (run: RunResult) => named(run, "aws:lambda/function:Function", "lessons-lesson-completed");
  const queue = (run: RunResult) => named(run, "aws:sqs/queue:Queue", "lessons-failed-events");

  describe("Atlas", () => {
    it("creates the App Services app through the Admin API when config names none", () => {
      const app = named(dev, "pulumi-nodejs:dynamic/atlas:AppServicesApp", "lessons-trigger-app");
      assert.equal(app.inputs.projectId, "5f0c0ffee0ddba11c0ffee01");
      assert.equal(app.inputs.appName, "tributary-lessons-dev");
      assert.equal(app.inputs.clusterName, "freecodecamp-dev");
      assert.equal(app.inputs.providerRegion, "aws-eu-west-2");
      assert.equal(app.inputs.adminApiUrl, "https://services.cloud.mongodb.com/api/admin/v3.0");
      assert.equal(app.inputs.publicKey, SECRET_MARK);
      assert.equal(app.inputs.privateKey, SECRET_MARK);
      assert.equal(trigger(dev).rawInputs.appId, app.state.appId);
      assert.equal(trigger(dev).rawInputs.configServiceId, app.state.clusterServiceId);
    });

    it("uses the app and cluster service ids from config when given", () => {
      assert.equal(ofType(prod, "pulumi-nodejs:dynamic/atlas:AppServicesApp").length, 0);
      assert.equal(trigger(prod).inputs.appId, "64a0c0ffee0ddba11c0ffee3");
      assert.equal(trigger(prod).inputs.configServiceId, "64a0c0ffee0ddba11c0ffee4");
    });

    it("fires on updates of freecodecamp.user with the full document, trimmed by the fixture's project expression", () => {
      const t = trigger(dev).inputs;
      assert.equal(t.type, "DATABASE");
      assert.equal(t.configDatabase, "freecodecamp");
      assert.equal(t.configCollection, "user");
      assert.deepEqual(t.configOperationTypes, ["UPDATE"]);
      assert.equal(t.configFullDocument, true);
      assert.equal(t.disabled, false);
      assert.deepEqual(JSON.parse(t.configProject), FIXTURE_PROJECT);
    });

    it("matches only updates that touched completedChallenges", () => {
      const match = JSON.parse(trigger(dev).inputs.configMatch);
      const filter = match.$expr.$gt[0].$size.$filter;
      assert.deepEqual(match, TRIGGER_MATCH);
      assert.deepEqual(filter.input, { $objectToArray: "$updateDescription.updatedFields" });
      const regex = new RegExp(filter.cond.$regexMatch.regex);
      assert.ok(regex.test("completedChallenges.39") && regex.test("completedChallenges"));
      assert.ok(!regex.test("progressTimestamps.40") && !regex.test("completedChallengesCount"));
    });

    it("sends to EventBridge in the AWS provider's account and region", () => {
      assert.deepEqual(trigger(dev).inputs.eventProcessors, {
        awsEventbridge: { configAccountId: "123456789012", configRegion: "eu-west-2" },
      });
    });
  });

  describe("partner bus", () => {
    it("is named after the trigger id, and created after the trigger", () => {
      const bus = named(dev, "aws:cloudwatch/eventBus:EventBus", "lessons-trigger-bus");
      const expected = `aws.partner/mongodb.com/stitch.trigger/${trigger(dev).state.triggerId}`;
      assert.equal(bus.inputs.name, expected);
      assert.equal(bus.inputs.eventSourceName, expected);
      const order = dev.resources.map((r) => r.urn);
      assert.ok(order.indexOf(bus.urn) > order.indexOf(trigger(dev).urn));
    });

    it("has an archive with the stage's retention", () => {
      const bus = named(dev, "aws:cloudwatch/eventBus:EventBus", "lessons-trigger-bus");
      const archive = named(dev, "aws:cloudwatch/eventArchive:EventArchive", "lessons-trigger-archive");
      assert.equal(archive.rawInputs.eventSourceArn, bus.state.arn);
      assert.equal(archive.inputs.retentionDays, 7);
      assert.equal(named(prod, "aws:cloudwatch/eventArchive:EventArchive", "lessons-trigger-archive").inputs.retentionDays, 30);
    });

    it("keeps its archive, the only copy of what arrived while the rule was paused: protected in prod, retained on delete in every stage", () => {
      const archive = (run: typeof dev) => named(run, "aws:cloudwatch/eventArchive:EventArchive", "lessons-trigger-archive").options;
      assert.deepEqual([archive(prod).protect, archive(prod).retainOnDelete], [true, true]);
      assert.deepEqual([archive(dev).protect, archive(dev).retainOnDelete], [false, true]);
      // The archive has no tags: nothing of an adopted resource's is kept on it.
      assert.deepEqual([archive(prod).import, archive(prod).ignoreChanges], [undefined, []]);
    });

    it("routes Atlas updates to the function with a retry policy and a dead-letter queue", () => {
      const bus = named(dev, "aws:cloudwatch/eventBus:EventBus", "lessons-trigger-bus");
      const rule = named(dev, "aws:cloudwatch/eventRule:EventRule", "lessons-rule");
      assert.equal(rule.rawInputs.eventBusName, bus.state.name);
      assert.deepEqual(JSON.parse(rule.inputs.eventPattern), LESSON_EVENT_PATTERN);
      assert.deepEqual(JSON.parse(rule.inputs.eventPattern), {
        source: [{ prefix: "aws.partner/mongodb.com" }],
        detail: { operationType: ["update"] },
      });

      const target = named(dev, "aws:cloudwatch/eventTarget:EventTarget", "lessons-rule-target");
      assert.equal(target.rawInputs.arn, fn(dev).state.arn);
      assert.equal(target.rawInputs.rule, rule.state.name);
      assert.deepEqual(target.inputs.retryPolicy, { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 });
      assert.deepEqual(target.rawInputs.deadLetterConfig, { arn: queue(dev).state.arn });
      assert.equal(queue(dev).inputs.messageRetentionSeconds, 1209600);

      const policy = policyOf(named(dev, "aws:sqs/queuePolicy:QueuePolicy", "lessons-rule-dlq-policy"));
      assert.deepEqual(policy.Statement, [
        {
          Effect: "Allow",
          Principal: { Service: "events.amazonaws.com" },
          Action: "sqs:SendMessage",
          Resource: queue(dev).state.arn,
          Condition: { ArnEquals: { "aws:SourceArn": rule.state.arn } },
        },
        {
          Sid: "DenyInsecureTransport",
          Effect: "Deny",
          Principal: "*",
          Action: "sqs:*",
          Resource: [queue(dev).state.arn],
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
      ]);
      const permission = named(dev, "aws:lambda/permission:Permission", "lessons-rule-invoke");
      assert.equal(permission.inputs.principal, "events.amazonaws.com");
      assert.equal(permission.rawInputs.sourceArn, rule.state.arn);
    });

    it("is enabled, and disabled while the app is paused for its cutover, when the archive still keeps every event", async function () {
      this.timeout(60_000);
      assert.equal(named(dev, "aws:cloudwatch/eventRule:EventRule", "lessons-rule").inputs.state, "ENABLED");
      const paused = await runVariant("dev", (config) => {
        config["tributary:lessons"].paused = true;
      });
      const rule = named(paused, "aws:cloudwatch/eventRule:EventRule", "lessons-rule");
      assert.equal(rule.inputs.state, "DISABLED");
      const archive = named(paused, "aws:cloudwatch/eventArchive:EventArchive", "lessons-trigger-archive");
      assert.equal(archive.rawInputs.eventSourceArn, named(paused, "aws:cloudwatch/eventBus:EventBus", "lessons-trigger-bus").state.arn);
      assert.deepEqual(
        [paused.outputs.lessonsSync.eventArchiveArn, paused.outputs.lessonsSync.ruleArn],
        [archive.state.arn, rule.state.arn],
      );
    });

    it("keeps the function's own failures in the same queue, with an alarm on its depth", () => {
      const config = named(dev, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "lessons-lesson-completed-async");
      assert.equal(config.inputs.maximumRetryAttempts, 2);
      assert.equal(config.inputs.maximumEventAgeInSeconds, 21600);
      assert.deepEqual(config.rawInputs.destinationConfig, { onFailure: { destination: queue(dev).state.arn } });
      const alarm = named(dev, "aws:cloudwatch/metricAlarm:MetricAlarm", "lessons-failed-events-depth");
      assert.deepEqual(alarm.rawInputs.dimensions, { QueueName: queue(dev).state.name });
    });
  });

  describe("Auth0", () => {
    it("creates a non-interactive client with client_secret_post and a scoped grant", () => {
      const client = named(dev, "auth0:index/client:Client", "lessons-auth0");
      assert.equal(client.inputs.appType, "non_interactive");
      assert.deepEqual(client.inputs.grantTypes, ["client_credentials"]);
      const credentials = named(dev, "auth0:index/clientCredentials:ClientCredentials", "lessons-auth0-credentials");
      assert.equal(credentials.inputs.authenticationMethod, "client_secret_post");
      assert.equal(credentials.rawInputs.clientId, client.state.clientId);
      const grant = named(dev, "auth0:index/clientGrant:ClientGrant", "lessons-auth0-grant");
      assert.equal(grant.rawInputs.clientId, client.state.clientId);
      assert.equal(grant.inputs.audience, "https://m2m.topcoder-dev.com/");
      assert.deepEqual(grant.inputs.scopes, ["update:certification_progress"]);
    });

    it("keeps the client secret in an SSM SecureString that only this function may read", () => {
      const parameter = named(dev, "aws:ssm/parameter:Parameter", "lessons-auth0-secret");
      assert.equal(parameter.inputs.type, "SecureString");
      assert.equal(parameter.inputs.value, SECRET_MARK);
      const statements = policyOf(named(dev, "aws:iam/rolePolicy:RolePolicy", "lessons-lesson-completed-policy")).Statement;
      assert.deepEqual(
        statements.map((s: any) => [s.Sid, s.Action, s.Resource]),
        [
          [
            "WriteOwnLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [`${named(dev, "aws:cloudwatch/logGroup:LogGroup", "lessons-lesson-completed-logs").state.arn}:*`],
          ],
          ["ReadOwnSecret", ["ssm:GetParameter"], [parameter.state.arn]],
          ["KeepFailedEvents", ["sqs:SendMessage"], [queue(dev).state.arn]],
        ],
      );
      const readers = ofType(dev, "aws:iam/rolePolicy:RolePolicy").filter((p) => p.rawInputs.policy.includes(parameter.state.arn));
      assert.equal(readers.length, 1);
    });
  });

  describe("function", () => {
    it("gets the seed's environment names and the secret's parameter name, never the secret", () => {
      const env = fn(dev).rawInputs.environment.variables;
      assert.deepEqual(Object.keys(env).sort(), [
        "AUTH0_AUDIENCE",
        "AUTH0_CLIENT_ID",
        "AUTH0_CLIENT_SECRET_PARAM",
        "AUTH0_TOKEN_REQUEST_FORMAT",
        "AUTH0_URL",
        "FAILED_EVENTS_QUEUE_URL",
        "LEARNING_PATHS_API_ENDPOINT",
        "LESSONS_CONCURRENCY",
        "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED",
        "POWERTOOLS_SERVICE_NAME",
        "TRIBUTARY_SECRETS_MAX_AGE_SECONDS",
      ]);
      assert.equal(env.TRIBUTARY_SECRETS_MAX_AGE_SECONDS, "300", "the client secret is read again every 5 minutes by default");
      assert.equal(env[LESSONS_ENV.auth0Url], "https://topcoder-dev.auth0.com/oauth/token");
      assert.equal(env.LESSONS_CONCURRENCY, "1", "one lesson at a time, in order, by default");
      assert.equal(env.AUTH0_TOKEN_REQUEST_FORMAT, "json", "the token request as the original made it");
      assert.equal(env.AUTH0_CLIENT_SECRET_PARAM, named(dev, "aws:ssm/parameter:Parameter", "lessons-auth0-secret").state.name);
      assert.equal(env.FAILED_EVENTS_QUEUE_URL, queue(dev).state.url);
      for (const [name, value] of Object.entries(fn(dev).inputs.environment.variables)) {
        assert.notEqual(value, SECRET_MARK, `${name} holds a secret`);
      }
      assert.deepEqual(findSecretLeaks(dev), []);
      assert.deepEqual(findSecretLeaks(prod), []);
    });

    it("reads its secret through the Parameters and Secrets extension of its region, with the extension's cache off", () => {
      assert.deepEqual(fn(prod).inputs.layers, [SECRETS_EXTENSION_LAYERS["us-east-1"]], "prod's lessons run in us-east-1");
      assert.deepEqual(fn(dev).inputs.layers, [SECRETS_EXTENSION_LAYERS["eu-west-2"]]);
      assert.equal(fn(prod).rawInputs.environment.variables.PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED, "FALSE");
    });

    it("asks for a token for the audience the original's configuration gives: dev and staging (the topcoder-dev tenant) https://m2m.topcoder-dev.com/", async () => {
      for (const run of [dev, await stackRun("staging")]) {
        assert.equal(fn(run).rawInputs.environment.variables.AUTH0_AUDIENCE, "https://m2m.topcoder-dev.com/");
        assert.equal(fn(run).rawInputs.environment.variables.AUTH0_URL, "https://topcoder-dev.auth0.com/oauth/token");
      }
      // prod's is a placeholder in the stack file, to confirm (docs/apps/lessons.md, "The audience").
      const prodFile = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.prod.yaml"), "utf8");
      assert.match(prodFile, /# PLACEHOLDER, to confirm: the original's prod audience .*\n(\s+#.*\n)*\s+audience: /);
      assert.equal(fn(prod).rawInputs.environment.variables.AUTH0_AUDIENCE, stackSettings("prod")["tributary:lessons"].auth0.audience);
    });

    it("has no default audience: a stack without one fails, naming the key", async () => {
      const err = await variantConfigError("dev", (config) => delete config["tributary:lessons"].auth0.audience);
      assert.deepEqual(
        err.problems.map((p) => p.key),
        ["tributary:lessons.auth0.audience"],
      );
    });

    it("sends the token request form-encoded only when lessons.auth0.tokenRequestFormat says so, and refuses another format", async () => {
      const form = await runVariant("dev", (config) => (config["tributary:lessons"].auth0.tokenRequestFormat = "form"));
      assert.equal(fn(form).rawInputs.environment.variables.AUTH0_TOKEN_REQUEST_FORMAT, "form");
      const err = await variantConfigError("dev", (config) => (config["tributary:lessons"].auth0.tokenRequestFormat = "xml"));
      assert.deepEqual(
        err.problems.map((p) => p.key),
        ["tributary:lessons.auth0.tokenRequestFormat"],
      );
    });

    it("has no cap on the lessons of one update: maxLessonsPerEvent is no longer a setting", async () => {
      const err = await variantConfigError("dev", (config) => (config["tributary:lessons"].maxLessonsPerEvent = 100));
      assert.deepEqual(
        err.problems.map((p) => p.key),
        ["tributary:lessons.maxLessonsPerEvent"],
      );
    });

    it("sends to the endpoint the seed names, in every stack", async () => {
      for (const run of [dev, await stackRun("staging"), prod]) {
        assert.match(
          fn(run).rawInputs.environment.variables.LEARNING_PATHS_API_ENDPOINT,
          /^https:\/\/api\.topcoder(-dev)?\.com\/v5\/learning-paths\/certification-progresses\/complete-lesson-via-mongo-trigger$/,
        );
      }
    });

    it("is sized from config and bundled from handlers/lessons/functions/lesson-completed.ts", () => {
      assert.equal(fn(dev).inputs.memorySize, 256);
      assert.equal(fn(prod).inputs.memorySize, 512);
      assert.equal(fn(prod).inputs.reservedConcurrentExecutions, 20);
      const bundle = named(dev, "tributary:lambda:NodeFunction", "lessons-lesson-completed").outputs.bundle;
      assert.deepEqual([bundle.handler, bundle.runtimeAwsSdk], ["lesson-completed", false]);
      assert.equal(fn(dev).inputs.code.archive["index.js"].path, `.build/bundles/${bundle.sha256}/index.js`);
      assert.equal(fn(dev).inputs.runtime, "nodejs22.x");
    });
  });

  it("exports the trigger, bus, function and client ids", () => {
    assert.equal(dev.outputs.lessonsSync.triggerId, trigger(dev).state.triggerId);
    assert.equal(dev.outputs.lessonsSync.functionName, fn(dev).state.name);
  });
});
