/**
 * The one way the program makes an alarm: a name that says what to do, a description that
 * links its runbook entry, the stage's period and the stack's alert topic for both ALARM and
 * OK. Every function, queue and HTTP API gets its alarms from the functions below, and each
 * returns what its app's dashboard shows (see app-dashboard.ts).
 */
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { Alarming } from "../platform";

/** Where the runbook lives in the repository: the default of `tributary:alarms.runbookUrl`. */
export const RUNBOOK_PATH = "docs/runbook.md";

/** A function's p99 duration at or above this fraction of its timeout raises its duration alarm. */
export const DURATION_ALARM_FRACTION = 0.8;

/**
 * A work queue's backlog alarm looks at a quarter of an hour: a consumer that keeps up drains
 * a burst within minutes, so a backlog that stays above the stage's threshold for 3 periods
 * of 5 minutes is a consumer that is paused, failing or too slow.
 */
export const QUEUE_BACKLOG_WINDOW = { periodSeconds: 300, evaluationPeriods: 3 };

/** How long SQS keeps a message when the queue sets nothing else (4 days). */
export const SQS_DEFAULT_RETENTION_SECONDS = 345_600;

/** CloudWatch's limits: alarm names 1-255 UTF-8 characters without control characters, descriptions up to 1024. */
export const ALARM_NAME_MAX = 255;
export const ALARM_DESCRIPTION_MAX = 1024;

/**
 * Every kind of alarm, with its entry in docs/runbook.md (the heading's anchor) and what its
 * name tells the reader to do.
 */
export const ALARM_KINDS = {
  "dead-letter-depth": {
    anchor: "dead-letter-queue-depth",
    todo: (stack: string) => `failed events parked, list and replay them with npm run dlq -- list --stack ${stack}`,
  },
  "dead-letter-age": {
    anchor: "dead-letter-queue-age",
    todo: (stack: string) => `parked events half-way to expiry, replay them now with npm run dlq -- replay --stack ${stack}`,
  },
  "queue-age": { anchor: "queue-age", todo: () => "messages waiting too long, check that its consumer is enabled and succeeding" },
  "queue-backlog": { anchor: "queue-backlog", todo: () => "backlog growing, check that its consumer keeps up" },
  "function-errors": { anchor: "function-errors", todo: () => "function failing, read its logs" },
  "function-throttles": { anchor: "function-throttles", todo: () => "invocations throttled, raise its reserved concurrency" },
  "function-duration": { anchor: "function-duration", todo: () => "p99 duration near its timeout, raise its timeout or memory" },
  "api-5xx": { anchor: "api-5xx", todo: () => "API answering 5xx, read its access log and its functions' logs" },
} as const satisfies Record<string, { anchor: string; todo: (stack: string) => string }>;

export type AlarmKind = keyof typeof ALARM_KINDS;

/** The alarm's name: the stack, the resource it watches, and what to do. */
export function alarmName(kind: AlarmKind, subject: string, alarming: Pick<Alarming, "namePrefix" | "stack">): string {
  const name = `${alarming.namePrefix} ${subject}: ${ALARM_KINDS[kind].todo(alarming.stack)}`;
  if (name.length > ALARM_NAME_MAX || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new Error(
      `alarm name "${name}" has ${name.length} characters or a control character; CloudWatch allows ${ALARM_NAME_MAX} printable ones`,
    );
  }
  return name;
}

/** The link to a kind's runbook entry. */
export function runbookLink(kind: AlarmKind, runbookUrl: string): string {
  return `${runbookUrl}#${ALARM_KINDS[kind].anchor}`;
}

export interface AlarmArgs {
  kind: AlarmKind;
  /** The resource the alarm watches, by its logical name: it starts the alarm's name after the stack. */
  subject: string;
  /** What the alarm means for this resource, in a sentence or two; the runbook link follows it. */
  description: string;
  namespace: string;
  metricName: string;
  dimensions: Record<string, pulumi.Input<string>>;
  /** A statistic, or a percentile such as `p99`. */
  statistic: "Sum" | "Maximum" | `p${number}`;
  threshold: pulumi.Input<number>;
  /** Default `GreaterThanOrEqualToThreshold`. */
  comparison?: "GreaterThanOrEqualToThreshold" | "GreaterThanThreshold";
  /** The period and the consecutive breaching periods; default the stage's. */
  window?: { periodSeconds: number; evaluationPeriods: number };
}

/** One alarm, notifying the stack's alert topic when it fires and when it recovers; missing data is not breaching. */
export function metricAlarm(
  name: string,
  args: AlarmArgs,
  alarming: Alarming,
  opts: pulumi.CustomResourceOptions,
): aws.cloudwatch.MetricAlarm {
  const description = `${args.description} Runbook: ${runbookLink(args.kind, alarming.runbookUrl)}`;
  if (description.length > ALARM_DESCRIPTION_MAX)
    throw new Error(`the description of alarm ${name} has ${description.length} characters; CloudWatch allows ${ALARM_DESCRIPTION_MAX}`);
  const window = args.window ?? alarming.settings;
  const percentile = args.statistic.startsWith("p");
  return new aws.cloudwatch.MetricAlarm(
    name,
    {
      name: alarmName(args.kind, args.subject, alarming),
      alarmDescription: description,
      namespace: args.namespace,
      metricName: args.metricName,
      dimensions: args.dimensions,
      statistic: percentile ? undefined : args.statistic,
      extendedStatistic: percentile ? args.statistic : undefined,
      period: window.periodSeconds,
      evaluationPeriods: window.evaluationPeriods,
      threshold: args.threshold,
      comparisonOperator: args.comparison ?? "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
      alarmActions: alarming.actions,
      okActions: alarming.actions,
    },
    opts,
  );
}

/** A function's alarms, and what its app's dashboard shows of it. */
export interface FunctionMonitoring {
  /** The function's logical name. */
  label: string;
  functionName: pulumi.Input<string>;
  timeoutSeconds: number;
  alarms: aws.cloudwatch.MetricAlarm[];
}

/**
 * A function's three alarms, named `<label>-errors`, `-throttles` and `-duration`: errors at
 * the stage's threshold, any throttle, and a p99 duration at DURATION_ALARM_FRACTION of its
 * timeout (a function that nears its timeout soon exceeds it).
 */
export function functionAlarms(
  label: string,
  fn: { functionName: pulumi.Input<string>; timeoutSeconds: number },
  alarming: Alarming,
  opts: pulumi.CustomResourceOptions,
): FunctionMonitoring {
  const common = { subject: label, namespace: "AWS/Lambda", dimensions: { FunctionName: fn.functionName } };
  const alarms = [
    metricAlarm(
      `${label}-errors`,
      {
        ...common,
        kind: "function-errors",
        description: `The ${label} function failed ${alarming.settings.lambdaErrorsThreshold} time(s) or more in ${alarming.settings.periodSeconds} s.`,
        metricName: "Errors",
        statistic: "Sum",
        threshold: alarming.settings.lambdaErrorsThreshold,
      },
      alarming,
      opts,
    ),
    metricAlarm(
      `${label}-throttles`,
      {
        ...common,
        kind: "function-throttles",
        description: `Lambda refused to run the ${label} function: its concurrency (reserved, or the account's) was used up.`,
        metricName: "Throttles",
        statistic: "Sum",
        threshold: 1,
      },
      alarming,
      opts,
    ),
    metricAlarm(
      `${label}-duration`,
      {
        ...common,
        kind: "function-duration",
        description: `The ${label} function's p99 duration reached ${DURATION_ALARM_FRACTION * 100}% of its ${fn.timeoutSeconds} s timeout.`,
        metricName: "Duration",
        statistic: "p99",
        threshold: Math.round(DURATION_ALARM_FRACTION * fn.timeoutSeconds * 1000),
      },
      alarming,
      opts,
    ),
  ];
  return { label, functionName: fn.functionName, timeoutSeconds: fn.timeoutSeconds, alarms };
}

/** A queue's alarms, and what its app's dashboard shows of it. */
export interface QueueMonitoring {
  /** The queue's logical name. */
  label: string;
  queueName: pulumi.Input<string>;
  /** The age of the oldest message that raises the age alarm, in seconds. */
  ageThresholdSeconds: pulumi.Input<number>;
  alarms: aws.cloudwatch.MetricAlarm[];
}

export interface QueueAlarmArgs {
  queue: aws.sqs.Queue;
  /**
   * `dead-letter`: every message is a failure to look at (depth at the stage's dead-letter
   * threshold); `work`: messages flow through to a consumer (depth at the stage's backlog
   * threshold, held for QUEUE_BACKLOG_WINDOW).
   */
  role: "dead-letter" | "work";
  /** What the queue holds, for the descriptions: "Alma events for alma-loan-updated". */
  holds: string;
  /**
   * An age alarm earlier than half the queue's retention, with its reason in the caller's
   * comment. Default: half the retention the queue has.
   */
  ageThresholdSeconds?: number;
}

/**
 * A queue's two alarms, named `<label>-age` and `<label>-depth`: the oldest message has waited
 * more than half the queue's retention (or `ageThresholdSeconds`), so there is still time to act
 * before SQS deletes it; and the depth (see QueueAlarmArgs.role). The retention is the
 * queue's own (an adopted queue's as AWS reports it).
 */
export function queueAlarms(label: string, args: QueueAlarmArgs, alarming: Alarming, opts: pulumi.CustomResourceOptions): QueueMonitoring {
  const { settings } = alarming;
  const ageThresholdSeconds: pulumi.Input<number> =
    args.ageThresholdSeconds ?? args.queue.messageRetentionSeconds.apply((retention) => (retention ?? SQS_DEFAULT_RETENTION_SECONDS) / 2);
  const common = { subject: label, namespace: "AWS/SQS", dimensions: { QueueName: args.queue.name }, statistic: "Maximum" as const };
  const deadLetter = args.role === "dead-letter";
  const age = metricAlarm(
    `${label}-age`,
    {
      ...common,
      kind: deadLetter ? "dead-letter-age" : "queue-age",
      description:
        args.ageThresholdSeconds === undefined
          ? `The oldest message in ${label} (${args.holds}) has waited more than half the queue's retention; SQS deletes it when the retention is up.`
          : `The oldest message in ${label} (${args.holds}) has waited more than ${args.ageThresholdSeconds} s.`,
      metricName: "ApproximateAgeOfOldestMessage",
      threshold: ageThresholdSeconds,
      comparison: "GreaterThanThreshold",
    },
    alarming,
    opts,
  );
  const depth = metricAlarm(
    `${label}-depth`,
    deadLetter
      ? {
          ...common,
          kind: "dead-letter-depth",
          description: `Messages are waiting in the dead-letter queue ${label}: ${args.holds}.`,
          metricName: "ApproximateNumberOfMessagesVisible",
          threshold: settings.deadLetterDepthThreshold,
        }
      : {
          ...common,
          kind: "queue-backlog",
          description: `${settings.queueBacklogThreshold} or more messages have waited in ${label} (${args.holds}) for ${
            (QUEUE_BACKLOG_WINDOW.periodSeconds * QUEUE_BACKLOG_WINDOW.evaluationPeriods) / 60
          } minutes.`,
          metricName: "ApproximateNumberOfMessagesVisible",
          threshold: settings.queueBacklogThreshold,
          window: QUEUE_BACKLOG_WINDOW,
        },
    alarming,
    opts,
  );
  return { label, queueName: args.queue.name, ageThresholdSeconds, alarms: [age, depth] };
}

/** An HTTP API's alarm, and what its app's dashboard shows of it. */
export interface ApiMonitoring {
  /** The API's logical name. */
  label: string;
  apiId: pulumi.Input<string>;
  /** The stage's name (`$default`): the metrics' `Stage` dimension. */
  stage: pulumi.Input<string>;
  alarms: aws.cloudwatch.MetricAlarm[];
}

/**
 * An HTTP API's 5xx alarm, named `<label>-5xx`: API Gateway's `5xx` metric (namespace
 * AWS/ApiGateway, dimensions ApiId and Stage) at the stage's threshold. 4xx are the callers'
 * mistakes (bad signatures, missing users) and raise nothing.
 */
export function apiAlarms(
  label: string,
  api: { apiId: pulumi.Input<string>; stage: pulumi.Input<string> },
  alarming: Alarming,
  opts: pulumi.CustomResourceOptions,
): ApiMonitoring {
  const alarm = metricAlarm(
    `${label}-5xx`,
    {
      kind: "api-5xx",
      subject: label,
      description: `The HTTP API ${label} answered ${alarming.settings.apiServerErrorsThreshold} or more requests with a 5xx status in ${alarming.settings.periodSeconds} s.`,
      namespace: "AWS/ApiGateway",
      metricName: "5xx",
      dimensions: { ApiId: api.apiId, Stage: api.stage },
      statistic: "Sum",
      threshold: alarming.settings.apiServerErrorsThreshold,
    },
    alarming,
    opts,
  );
  return { label, apiId: api.apiId, stage: api.stage, alarms: [alarm] };
}
