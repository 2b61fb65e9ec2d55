import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Alarming } from "../platform";
import type { ApiMonitoring, FunctionMonitoring, QueueMonitoring } from "./alarms";

/** CloudWatch's limits on a dashboard: a name of 1-255 characters from [A-Za-z0-9_-], and 100 alarms per alarm widget. */
export const DASHBOARD_NAME_MAX = 255;
const ALARMS_PER_WIDGET = 100;

/** `tributary-prod` and `alma` → `tributary-prod-alma`; any other character becomes `-`. */
export function dashboardName(namePrefix: string, app: string): string {
  const name = `${namePrefix}-${app}`.replace(/[^A-Za-z0-9_-]/g, "-");
  if (name.length > DASHBOARD_NAME_MAX)
    throw new Error(`dashboard name ${name} has ${name.length} characters; CloudWatch allows ${DASHBOARD_NAME_MAX}`);
  return name;
}

/** The console's address of a dashboard (dashboards are global; the region only picks the console's). */
export function dashboardUrl(region: string, name: string): string {
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${name}`;
}

export interface AppDashboardArgs {
  /** The app's config key: the dashboard is `<namePrefix>-<app>`. */
  app: string;
  /** The app's functions, queues and HTTP APIs, each with its alarms, as the alarm functions return them. */
  functions: FunctionMonitoring[];
  queues: QueueMonitoring[];
  apis: ApiMonitoring[];
  /** The stack's naming, periods and runbook. */
  alarming: Alarming;
}

type Widget = Record<string, unknown>;
const WIDTH = 12;
const HEIGHT = 6;

/**
 * One CloudWatch dashboard for one app: the state of each of its alarms, then a row per
 * function (invocations, errors and throttles; duration against its timeout), per queue
 * (messages; age of the oldest against its alarm) and per HTTP API (requests, 4xx and 5xx;
 * latency), in the app's region.
 */
export class AppDashboard extends pulumi.ComponentResource {
  readonly dashboard: aws.cloudwatch.Dashboard;
  readonly dashboardName: string;
  readonly url: pulumi.Output<string>;
  /** Every alarm the dashboard shows: all of the app's. */
  readonly alarms: aws.cloudwatch.MetricAlarm[];

  constructor(name: string, args: AppDashboardArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:monitoring:AppDashboard", name, {}, opts);
    const region = aws.getRegionOutput({}, { parent: this }).region;
    const period = args.alarming.settings.periodSeconds;
    this.dashboardName = dashboardName(args.alarming.namePrefix, args.app);
    this.alarms = [...args.functions, ...args.queues, ...args.apis].flatMap((part) => part.alarms);

    const metric = (title: string, metrics: unknown[][], extra: Record<string, unknown> = {}) => ({
      type: "metric",
      width: WIDTH,
      height: HEIGHT,
      properties: { title, region, view: "timeSeries", stacked: false, period, metrics, ...extra },
    });
    const pairs: Widget[][] = [
      ...args.functions.map((fn) => {
        const dims = ["FunctionName", fn.functionName];
        return [
          metric(`${fn.label}: invocations, errors, throttles`, [
            ["AWS/Lambda", "Invocations", ...dims, { stat: "Sum" }],
            ["AWS/Lambda", "Errors", ...dims, { stat: "Sum" }],
            ["AWS/Lambda", "Throttles", ...dims, { stat: "Sum" }],
          ]),
          metric(
            `${fn.label}: duration (ms)`,
            [
              ["AWS/Lambda", "Duration", ...dims, { stat: "p50" }],
              ["AWS/Lambda", "Duration", ...dims, { stat: "p99" }],
              ["AWS/Lambda", "Duration", ...dims, { stat: "Maximum" }],
            ],
            { annotations: { horizontal: [{ label: "timeout", value: fn.timeoutSeconds * 1000 }] } },
          ),
        ];
      }),
      ...args.queues.map((queue) => {
        const dims = ["QueueName", queue.queueName];
        return [
          metric(`${queue.label}: messages`, [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", ...dims, { stat: "Maximum" }],
            ["AWS/SQS", "ApproximateNumberOfMessagesNotVisible", ...dims, { stat: "Maximum" }],
            ["AWS/SQS", "NumberOfMessagesSent", ...dims, { stat: "Sum" }],
          ]),
          metric(
            `${queue.label}: age of the oldest message (s)`,
            [["AWS/SQS", "ApproximateAgeOfOldestMessage", ...dims, { stat: "Maximum" }]],
            {
              annotations: { horizontal: [{ label: "age alarm", value: queue.ageThresholdSeconds }] },
            },
          ),
        ];
      }),
      ...args.apis.map((api) => {
        const dims = ["ApiId", api.apiId, "Stage", api.stage];
        return [
          metric(`${api.label}: requests, 4xx, 5xx`, [
            ["AWS/ApiGateway", "Count", ...dims, { stat: "Sum" }],
            ["AWS/ApiGateway", "4xx", ...dims, { stat: "Sum" }],
            ["AWS/ApiGateway", "5xx", ...dims, { stat: "Sum" }],
          ]),
          metric(`${api.label}: latency (ms)`, [
            ["AWS/ApiGateway", "Latency", ...dims, { stat: "p50" }],
            ["AWS/ApiGateway", "Latency", ...dims, { stat: "p99" }],
            ["AWS/ApiGateway", "IntegrationLatency", ...dims, { stat: "p99" }],
          ]),
        ];
      }),
    ];

    const widgets: Widget[] = [];
    let y = 0;
    widgets.push({
      type: "text",
      x: 0,
      y,
      width: 24,
      height: 2,
      properties: {
        markdown: `## ${this.dashboardName}\nEvery alarm notifies the stack's alert topic. What each alarm means and what to do: [the runbook](${args.alarming.runbookUrl}).`,
      },
    });
    y += 2;
    for (let i = 0; i < this.alarms.length; i += ALARMS_PER_WIDGET) {
      const chunk = this.alarms.slice(i, i + ALARMS_PER_WIDGET);
      const height = 2 + Math.ceil(chunk.length / 3);
      widgets.push({
        type: "alarm",
        x: 0,
        y,
        width: 24,
        height,
        properties: { title: "Alarms", alarms: chunk.map((alarm) => alarm.arn), sortBy: "stateUpdatedTimestamp" },
      });
      y += height;
    }
    for (const pair of pairs) {
      pair.forEach((widget, i) => widgets.push({ ...widget, x: i * WIDTH, y }));
      y += HEIGHT;
    }

    this.dashboard = new aws.cloudwatch.Dashboard(
      name,
      { dashboardName: this.dashboardName, dashboardBody: pulumi.jsonStringify({ widgets }) },
      { parent: this },
    );
    this.url = region.apply((r) => dashboardUrl(r, this.dashboardName));
    this.registerOutputs({ name: this.dashboardName, url: this.url });
  }

  /** What the app exports of its dashboard. */
  get outputs(): { name: string; url: pulumi.Output<string> } {
    return { name: this.dashboardName, url: this.url };
  }
}
