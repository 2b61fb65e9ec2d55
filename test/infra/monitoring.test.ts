/**
 * Alarms and dashboards over every stack: each function, queue and HTTP API has its alarms
 * with the right metric, threshold and actions; names say what to do, are unique and fit
 * CloudWatch's limits; descriptions link an entry of docs/runbook.md; each app has one
 * dashboard that shows all of its parts and alarms, and exports its name and URL.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CACHE_QUEUE_AGE_ALARM_SECONDS } from "../../apps/alma/alma-cache";
import {
  ALARM_KINDS,
  alarmName,
  QUEUE_BACKLOG_WINDOW,
  queueAlarms,
  RUNBOOK_PATH,
  SQS_DEFAULT_RETENTION_SECONDS,
} from "../../components/monitoring/alarms";
import { dashboardName } from "../../components/monitoring/app-dashboard";
import { STAGES } from "../../components/platform";
import { STAGE_DEFAULTS } from "../../config";
import { deadLetterQueues } from "../../policy/rules";
import {
  childrenOf,
  named,
  ofType,
  policyResources,
  type RecordedResource,
  type RunResult,
  runProgram,
  stackRun,
} from "../../tooling/mock-engine";
import { TEST_PLATFORM } from "../helpers/platform";
import { runVariant } from "../helpers/stack-variant";
import { REPO_ROOT } from "../../paths";

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const DASHBOARD = "aws:cloudwatch/dashboard:Dashboard";

/** Each app: the components it is made of, and the stack output that carries its dashboard. */
const APPS = {
  lessons: { components: ["tributary:lessons:LessonCompletionSync"], output: "lessonsSync" },
  skills: { components: ["tributary:skills:SkillAppSync"], output: "skillAppSync" },
  iota: { components: ["tributary:iota:IotaService", "tributary:iota:IotaEventBus"], output: "iota" },
  alma: { components: ["tributary:alma:AlmaCache"], output: "almaCache" },
  hdoc: { components: ["tributary:hdoc:HdocBackend"], output: "hdocBackend" },
} as const;

/** GitHub's anchor of a Markdown heading. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, "")
    .replace(/ /g, "-");
const runbook = fs.readFileSync(path.join(REPO_ROOT, RUNBOOK_PATH), "utf8");
const RUNBOOK_ANCHORS = [...runbook.matchAll(/^#{2,3} (.+)$/gm)].map((m) => anchorOf(m[1]));

/** The alarms on one metric of one resource. */
function alarmsOn(run: RunResult, namespace: string, dimension: string, value: string, metricName: string): RecordedResource[] {
  return ofType(run, ALARM).filter(
    (a) => a.inputs.namespace === namespace && a.inputs.metricName === metricName && a.rawInputs.dimensions?.[dimension] === value,
  );
}
function oneAlarmOn(run: RunResult, namespace: string, dimension: string, value: string, metricName: string): RecordedResource {
  const found = alarmsOn(run, namespace, dimension, value, metricName);
  assert.equal(found.length, 1, `one ${namespace} ${metricName} alarm on ${dimension}=${value}`);
  return found[0];
}

/** Everything an app is made of, and its dashboard (iota's is made beside its services, in index.ts). */
function partsOf(run: RunResult, app: keyof typeof APPS): RecordedResource[] {
  const roots = run.resources.filter((r) => (APPS[app].components as readonly string[]).includes(r.type));
  const parts = new Map(roots.flatMap((root) => childrenOf(run, root, true)).map((r) => [r.urn, r]));
  for (const r of childrenOf(run, named(run, "tributary:monitoring:AppDashboard", `${app}-dashboard`), true)) parts.set(r.urn, r);
  return [...parts.values()];
}

describe("alarms and dashboards", () => {
  const runs = new Map<string, RunResult>();
  before(async function () {
    this.timeout(120_000);
    for (const stack of STAGES) runs.set(stack, await stackRun(stack));
  });

  for (const stack of STAGES) {
    describe(stack, () => {
      const run = () => runs.get(stack)!;
      const settings = STAGE_DEFAULTS[stack].alarms;

      it("gives every function errors, throttles and p99 duration alarms at 80% of its timeout", () => {
        const functions = ofType(run(), "aws:lambda/function:Function");
        assert.ok(functions.length >= 9);
        for (const fn of functions) {
          const on = (metric: string) => oneAlarmOn(run(), "AWS/Lambda", "FunctionName", fn.state.name, metric);
          const errors = on("Errors");
          assert.equal(errors.inputs.statistic, "Sum");
          assert.equal(errors.inputs.threshold, settings.lambdaErrorsThreshold);
          assert.equal(errors.name, `${fn.name}-errors`);
          const throttles = on("Throttles");
          assert.equal(throttles.inputs.statistic, "Sum");
          assert.equal(throttles.inputs.threshold, 1);
          assert.equal(throttles.inputs.comparisonOperator, "GreaterThanOrEqualToThreshold");
          const duration = on("Duration");
          assert.equal(duration.inputs.extendedStatistic, "p99");
          assert.equal(duration.inputs.statistic, undefined);
          assert.equal(duration.inputs.threshold, Math.round(0.8 * fn.inputs.timeout * 1000), fn.name);
          assert.ok(duration.inputs.threshold < fn.inputs.timeout * 1000);
        }
      });

      it("gives every queue an age alarm at half its retention (a day for alma's cache queues) and a depth alarm", () => {
        const queues = ofType(run(), "aws:sqs/queue:Queue");
        const deadLetter = new Set(deadLetterQueues(policyResources(run())).map((q) => q.urn));
        assert.equal(queues.length, 10, "4 cache queues, the users queue and 5 dead-letter queues");
        assert.equal(deadLetter.size, 5);
        for (const queue of queues) {
          const retention = queue.state.messageRetentionSeconds ?? SQS_DEFAULT_RETENTION_SECONDS;
          const age = oneAlarmOn(run(), "AWS/SQS", "QueueName", queue.state.name, "ApproximateAgeOfOldestMessage");
          assert.equal(age.inputs.statistic, "Maximum");
          assert.equal(age.inputs.comparisonOperator, "GreaterThanThreshold");
          const cacheQueue = /^alma-[a-z-]+-queue$/.test(queue.name);
          assert.equal(age.inputs.threshold, cacheQueue ? CACHE_QUEUE_AGE_ALARM_SECONDS : retention / 2, queue.name);
          assert.ok(age.inputs.threshold <= retention / 2);
          assert.equal(age.name, `${queue.name}-age`);

          const depth = oneAlarmOn(run(), "AWS/SQS", "QueueName", queue.state.name, "ApproximateNumberOfMessagesVisible");
          assert.equal(depth.inputs.statistic, "Maximum");
          assert.equal(depth.name, `${queue.name}-depth`);
          if (deadLetter.has(queue.urn)) {
            assert.equal(depth.inputs.threshold, settings.deadLetterDepthThreshold, queue.name);
            assert.equal(depth.inputs.period, settings.periodSeconds);
            assert.equal(retention, 1_209_600);
          } else {
            assert.equal(depth.inputs.threshold, settings.queueBacklogThreshold, queue.name);
            assert.equal(depth.inputs.period, QUEUE_BACKLOG_WINDOW.periodSeconds);
            assert.equal(depth.inputs.evaluationPeriods, QUEUE_BACKLOG_WINDOW.evaluationPeriods);
          }
        }
        // The users queue keeps SQS's default 4 days (adopted in staging and prod, with the setting it has).
        assert.equal(named(run(), ALARM, "alma-users-age").inputs.threshold, 172_800);
      });

      it("gives every HTTP API a 5xx alarm on its $default stage", () => {
        const apis = ofType(run(), "aws:apigatewayv2/api:Api");
        assert.equal(apis.length, 2);
        for (const api of apis) {
          const stage = ofType(run(), "aws:apigatewayv2/stage:Stage").find((s) => s.rawInputs.apiId === api.id)!;
          const alarm = oneAlarmOn(run(), "AWS/ApiGateway", "ApiId", api.id!, "5xx");
          assert.deepEqual(alarm.rawInputs.dimensions, { ApiId: api.id, Stage: stage.inputs.name });
          assert.equal(stage.inputs.name, "$default");
          assert.equal(alarm.inputs.statistic, "Sum");
          assert.equal(alarm.inputs.threshold, settings.apiServerErrorsThreshold);
          assert.equal(alarm.name, `${api.name}-5xx`);
          assert.equal(alarmsOn(run(), "AWS/ApiGateway", "ApiId", api.id!, "4xx").length, 0);
        }
      });

      it("has no other alarm, and every alarm notifies the alert topic of its region when it fires and when it recovers", () => {
        const functions = ofType(run(), "aws:lambda/function:Function").length;
        const queues = ofType(run(), "aws:sqs/queue:Queue").length;
        const apis = ofType(run(), "aws:apigatewayv2/api:Api").length;
        const alarms = ofType(run(), ALARM);
        assert.equal(alarms.length, 3 * functions + 2 * queues + apis);
        const regionOf = (arn: string) => arn.split(":")[3];
        const topics = new Map(
          ofType(run(), "aws:sns/topic:Topic")
            .filter((t) => t.name.startsWith("alerts"))
            .map((t) => [regionOf(t.state.arn), t.state.arn]),
        );
        assert.deepEqual(Object.fromEntries(topics), run().outputs.alertTopicArns);
        // CloudWatch notifies only a topic in the alarm's region: prod runs hdoc, lessons and skills in us-east-1, staging hdoc.
        assert.deepEqual([...topics.keys()].sort(), stack === "dev" ? ["eu-west-2"] : ["eu-west-2", "us-east-1"]);
        for (const alarm of alarms) {
          const topic = topics.get(regionOf(alarm.state.arn));
          assert.ok(topic, alarm.name);
          assert.deepEqual(alarm.rawInputs.alarmActions, [topic], alarm.name);
          assert.deepEqual(alarm.rawInputs.okActions, [topic], alarm.name);
          assert.equal(alarm.inputs.treatMissingData, "notBreaching");
        }
      });

      it("names each alarm after the stack and what it watches, saying what to do: unique, within 255 characters", () => {
        const alarms = ofType(run(), ALARM);
        const names = alarms.map((a) => a.inputs.name as string);
        assert.equal(new Set(names).size, names.length);
        for (const alarm of alarms) {
          const name = alarm.inputs.name as string;
          assert.ok(name.length >= 1 && name.length <= 255, name);
          assert.doesNotMatch(name, /[\u0000-\u001f\u007f]/);
          // `<logical name>-<suffix>` watches `<logical name>`, which the name gives after the stack.
          const subject = alarm.name.replace(/-(errors|throttles|duration|age|depth|5xx)$/, "");
          assert.ok(name.startsWith(`tributary-${stack} ${subject}: `), name);
          const kind = Object.entries(ALARM_KINDS).find(([, k]) => name.endsWith(`: ${k.todo(stack)}`));
          assert.ok(kind, `${name} ends with one kind's advice`);
          assert.equal(alarm.state.arn, `arn:aws:cloudwatch:${alarm.state.arn.split(":")[3]}:123456789012:alarm:${name}`);
        }
        assert.equal(
          named(run(), ALARM, "alma-failed-events-depth").inputs.name,
          `tributary-${stack} alma-failed-events: failed events parked, list and replay them with npm run dlq -- list --stack ${stack}`,
        );
      });

      it("links each alarm's runbook entry in its description, within 1024 characters", () => {
        for (const alarm of ofType(run(), ALARM)) {
          const description = alarm.inputs.alarmDescription as string;
          assert.ok(description.length <= 1024);
          const link = / Runbook: docs\/runbook\.md#([a-z0-9-]+)$/.exec(description);
          assert.ok(link, description);
          assert.ok(RUNBOOK_ANCHORS.includes(link[1]), `docs/runbook.md has a heading for #${link[1]}`);
        }
      });

      for (const app of Object.keys(APPS) as (keyof typeof APPS)[]) {
        it(`gives ${app} one dashboard showing each of its functions, queues and APIs and all of its alarms, and exports its name and URL`, () => {
          const parts = partsOf(run(), app);
          const dashboards = parts.filter((r) => r.type === DASHBOARD);
          assert.deepEqual(
            dashboards.map((d) => d.name),
            [`${app}-dashboard`],
          );
          const dashboard = dashboards[0];
          assert.equal(dashboard.inputs.dashboardName, `tributary-${stack}-${app}`);
          assert.match(dashboard.inputs.dashboardName, /^[A-Za-z0-9_-]{1,255}$/);

          const body = JSON.parse(dashboard.rawInputs.dashboardBody);
          const metricWidgets = body.widgets.filter((w: any) => w.type === "metric");
          const shown = (namespace: string, dimension: string, value: string) =>
            metricWidgets.some((w: any) =>
              w.properties.metrics.some(
                (m: any[]) => m[0] === namespace && m.slice(2).some((v, i, all) => i % 2 === 0 && v === dimension && all[i + 1] === value),
              ),
            );
          const functions = parts.filter((r) => r.type === "aws:lambda/function:Function");
          const queues = parts.filter((r) => r.type === "aws:sqs/queue:Queue");
          const apis = parts.filter((r) => r.type === "aws:apigatewayv2/api:Api");
          assert.ok(functions.length > 0);
          for (const fn of functions) assert.ok(shown("AWS/Lambda", "FunctionName", fn.state.name), fn.name);
          for (const queue of queues) assert.ok(shown("AWS/SQS", "QueueName", queue.state.name), queue.name);
          for (const api of apis) assert.ok(shown("AWS/ApiGateway", "ApiId", api.id!), api.name);
          // Two widgets per function, queue and API, and nothing of another app.
          assert.equal(metricWidgets.length, 2 * (functions.length + queues.length + apis.length));
          const region = dashboardRegion(run(), app);
          for (const w of metricWidgets) assert.equal(w.properties.region, region);

          const appAlarms = parts
            .filter((r) => r.type === ALARM)
            .map((a) => a.state.arn)
            .sort();
          const widgetAlarms = body.widgets
            .filter((w: any) => w.type === "alarm")
            .flatMap((w: any) => w.properties.alarms)
            .sort();
          assert.deepEqual(widgetAlarms, appAlarms);

          assert.deepEqual(run().outputs[APPS[app].output].dashboard, {
            name: `tributary-${stack}-${app}`,
            url: `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/tributary-${stack}-${app}`,
          });
        });
      }

      it("has one dashboard per app, each named uniquely", () => {
        const names = ofType(run(), DASHBOARD).map((d) => d.inputs.dashboardName);
        assert.deepEqual(
          names.sort(),
          Object.keys(APPS)
            .map((app) => `tributary-${stack}-${app}`)
            .sort(),
        );
      });
    });
  }

  /** The region an app's resources are in: its functions' (from their ARNs). */
  function dashboardRegion(run: RunResult, app: keyof typeof APPS): string {
    return partsOf(run, app)
      .find((r) => r.type === "aws:lambda/function:Function")!
      .state.arn.split(":")[3];
  }

  it("shows each app's metrics in the app's own region (prod runs hdoc, lessons and skills in us-east-1)", () => {
    const prod = runs.get("prod")!;
    assert.equal(dashboardRegion(prod, "hdoc"), "us-east-1");
    assert.equal(dashboardRegion(prod, "alma"), "eu-west-2");
  });

  it("notifies an existing topic in its own region, and a topic of its own in each other region", async function () {
    this.timeout(60_000);
    const existing = "arn:aws:sns:us-east-1:333333333333:oncall";
    const run = await runVariant("prod", (config) => {
      config["tributary:alarms"].topicArn = existing;
    });
    const home = named(run, "aws:sns/topic:Topic", "alerts").state.arn;
    assert.deepEqual(run.outputs.alertTopicArns, { "eu-west-2": home, "us-east-1": existing });
    assert.equal(ofType(run, "aws:sns/topic:Topic").filter((t) => t.name === "alerts-us-east-1").length, 0);
    assert.deepEqual(named(run, ALARM, "hdoc-api-5xx").rawInputs.alarmActions, [existing]);
    assert.deepEqual(named(run, ALARM, "alma-webhook-api-5xx").rawInputs.alarmActions, [home]);
  });

  it("links the runbook at the address the stack's config gives", async function () {
    this.timeout(60_000);
    const url = "https://github.com/example/tributary/blob/main/docs/runbook.md";
    const run = await runVariant("dev", (config) => {
      config["tributary:alarms"].runbookUrl = url;
    });
    for (const alarm of ofType(run, ALARM))
      assert.match(alarm.inputs.alarmDescription, new RegExp(` Runbook: ${url.replace(/\./g, "\\.")}#[a-z0-9-]+$`));
    assert.ok(
      JSON.parse(named(run, DASHBOARD, "alma-dashboard").rawInputs.dashboardBody).widgets[0].properties.markdown.includes(`](${url})`),
    );
  });
});

describe("the runbook", () => {
  it("has an entry for every kind of alarm, under the heading its alarms link", () => {
    for (const [kind, { anchor }] of Object.entries(ALARM_KINDS))
      assert.ok(RUNBOOK_ANCHORS.includes(anchor), `${kind}: docs/runbook.md#${anchor}`);
  });

  it("is linked from the README", () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    assert.ok(readme.includes("(docs/runbook.md)"));
  });
});

describe("the alarm building block", () => {
  it("refuses an alarm name over 255 characters or with a control character", () => {
    const alarming = TEST_PLATFORM.alarming;
    assert.equal(alarmName("function-errors", "echo", alarming), "tributary-test echo: function failing, read its logs");
    assert.throws(() => alarmName("function-errors", "e".repeat(230), alarming), /CloudWatch allows 255/);
    assert.throws(() => alarmName("function-errors", "a\nb", alarming), /control character/);
  });

  it("keeps dashboard names to CloudWatch's characters", () => {
    assert.equal(dashboardName("tributary-my.stack", "alma"), "tributary-my-stack-alma");
    assert.throws(() => dashboardName("t".repeat(251), "alma"), /CloudWatch allows 255/);
  });

  it("takes a queue's age threshold from the retention the queue has, or an earlier one given", async () => {
    const run = await runProgram(
      () => {
        const parent = new pulumi.ComponentResource("test:index:App", "app");
        const plain = new aws.sqs.Queue("plain", {}, { parent });
        const kept = new aws.sqs.Queue("kept", { messageRetentionSeconds: 86_400 }, { parent });
        queueAlarms("plain", { queue: plain, role: "work", holds: "work" }, TEST_PLATFORM.alarming, { parent });
        queueAlarms("kept", { queue: kept, role: "dead-letter", holds: "failures", ageThresholdSeconds: 3600 }, TEST_PLATFORM.alarming, {
          parent,
        });
      },
      {
        stack: "test",
        states: {
          "aws:sqs/queue:Queue": (args) => ({
            messageRetentionSeconds: args.inputs.messageRetentionSeconds ?? SQS_DEFAULT_RETENTION_SECONDS,
          }),
        },
      },
    );
    assert.equal(named(run, ALARM, "plain-age").inputs.threshold, 172_800);
    assert.equal(named(run, ALARM, "plain-depth").inputs.threshold, TEST_PLATFORM.alarming.settings.queueBacklogThreshold);
    assert.equal(named(run, ALARM, "kept-age").inputs.threshold, 3600);
    assert.match(
      named(run, ALARM, "kept-age").inputs.alarmDescription,
      /waited more than 3600 s\. Runbook: docs\/runbook\.md#dead-letter-queue-age$/,
    );
    assert.equal(named(run, ALARM, "kept-depth").inputs.threshold, TEST_PLATFORM.alarming.settings.deadLetterDepthThreshold);
  });
});
