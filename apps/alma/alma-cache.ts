import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ALMA_ENV, ALMA_EVENTS, type AlmaEvent, topicArnEnv } from "../../handlers/lib/env-names";
import { applies, keptUnless } from "../../components/adoption";
import { DeadLetterQueue, type DeadLetterQueueOutput, queuePolicy } from "../../components/events/dead-letter-queue";
import { queueConsumerStatement, queueEventSource, visibilityTimeoutFor } from "../../components/events/queue-event-source";
import { subscribeQueue } from "../../components/events/topic-subscription";
import { HttpApi } from "../../components/http/http-api";
import { NodeFunction } from "../../components/lambda/node-function";
import { functionSizing } from "../settings-schema";
import type { AlmaSettings } from "./settings";
import { type QueueMonitoring, queueAlarms } from "../../components/monitoring/alarms";
import { AppDashboard } from "../../components/monitoring/app-dashboard";
import type { Platform } from "../../components/platform";
import { secretsEnvironment, secureParameter } from "../../components/secrets/secure-parameter";
import { queueNameOf, statefulOptions, topicNameOf } from "../../components/storage/stateful";
import { dynamoTable } from "../../components/storage/table";
import { ALMA_TABLES, TOMBSTONES_TABLE } from "./tables";

type AlmaTable = keyof typeof ALMA_TABLES;

/**
 * Which function keeps which table current, from which topics, and the requests it makes:
 * an update writes its item (and deletes it again if a tombstone says it was closed by a
 * newer event) and reads the tombstone; a close writes the tombstone and deletes the item.
 * Both read and update the user.
 */
export const CACHE_FUNCTIONS: {
  handler: string;
  topics: AlmaEvent[];
  table: AlmaTable;
  itemActions: string[];
  tombstoneActions: string[];
}[] = [
  {
    handler: "alma-loan-updated",
    topics: ["LOAN_CREATED", "LOAN_RENEWED", "LOAN_DUE_DATE"],
    table: "loans",
    itemActions: ["dynamodb:PutItem", "dynamodb:DeleteItem"],
    tombstoneActions: ["dynamodb:GetItem"],
  },
  {
    handler: "alma-loan-returned",
    topics: ["LOAN_RETURNED"],
    table: "loans",
    itemActions: ["dynamodb:DeleteItem"],
    tombstoneActions: ["dynamodb:UpdateItem"],
  },
  {
    handler: "alma-request-updated",
    topics: ["REQUEST_CREATED", "REQUEST_PLACED_ON_SHELF"],
    table: "requests",
    itemActions: ["dynamodb:PutItem", "dynamodb:DeleteItem"],
    tombstoneActions: ["dynamodb:GetItem"],
  },
  {
    handler: "alma-request-closed",
    topics: ["REQUEST_CLOSED", "REQUEST_CANCELED"],
    table: "requests",
    itemActions: ["dynamodb:DeleteItem"],
    tombstoneActions: ["dynamodb:UpdateItem"],
  },
];

/**
 * Where Alma may post: `/webhook`, and the root, where the old webhook answered. The old one
 * was a REST API, whose URL carries its stage (`/prod`): any other path reaches the webhook
 * too, so that Alma's configured URL needs only its host changed.
 */
export const WEBHOOK_ROUTES = ["POST /webhook", "GET /webhook", "POST /", "GET /", "POST /{proxy+}", "GET /{proxy+}"];

/** A queue message goes to the users DLQ after this many receives. */
export const USERS_QUEUE_MAX_RECEIVES = 3;
/** A cache function's queue hands a message out this many times, then moves it to `alma-failed-events`. */
export const CACHE_QUEUE_MAX_RECEIVES = 5;
/** How long a cache function's queue keeps a message: 14 days, SQS's longest, for events that wait while the functions are paused. */
export const CACHE_QUEUE_RETENTION_SECONDS = 14 * 24 * 3600;
/** Records per invocation of a cache function. */
export const CACHE_BATCH_SIZE = 10;
/**
 * A message this old in a cache function's queue raises an alarm: the functions have been
 * paused, or failing, for a day. Earlier than half the queue's 14 days on purpose: a message
 * that then moves to the failed-events queue keeps its first enqueue time, so the time it
 * waits here is taken from the time left to replay it there.
 */
export const CACHE_QUEUE_AGE_ALARM_SECONDS = 24 * 3600;
export { DEFAULT_MAXIMUM_CONCURRENCY } from "./settings";
/** SQS's own default visibility timeout, kept while no consumer is configured. */
const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 30;

/** The topic's display name, as alma-webhook-handler named its topics: `LOAN_DUE_DATE` → `AlmaLoanDueDate`. */
export function topicDisplayName(event: AlmaEvent): string {
  return `Alma${event
    .toLowerCase()
    .split("_")
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join("")}`;
}

/**
 * The app's block of config as the schema gives it (apps/alma/settings.ts, where each setting
 * is documented), with the webhook's signing secret and the stage's platform.
 */
export interface AlmaCacheArgs extends Omit<AlmaSettings, "region"> {
  /** The webhook signing secret (a config secret), kept in SSM. */
  webhookSecret: pulumi.Input<string>;
  /** Default throttling of the webhook API. */
  webhookThrottling?: { burstLimit: number; rateLimit: number };
  platform: Platform;
}

/** `LOAN_CREATED` → `loan-created`, for logical names. */
const slug = (event: string) => event.toLowerCase().replace(/_/g, "-");

/** API Gateway gives an integration at most 29 seconds. */
const WEBHOOK_MAX_TIMEOUT_SECONDS = 29;

/**
 * alma: Alma webhooks reach one SNS topic per event; each of four functions reads its own
 * SQS queue, which its topics feed, and keeps the loans, requests and users tables current,
 * and queues users the cache does not know for the bulk-update service. The webhook verifies
 * each delivery and publishes it to its topic. `paused` stops the functions reading their
 * queues, for a cutover: the events wait there.
 */
export class AlmaCache extends pulumi.ComponentResource {
  readonly tables: Record<AlmaTable, aws.dynamodb.Table>;
  /** Returned loans and closed requests, for 35 days (TOMBSTONE_TTL_SECONDS): this stack's own table. */
  readonly tombstones: aws.dynamodb.Table;
  readonly topicArns: Record<AlmaEvent, pulumi.Output<string>>;
  readonly topics: Record<AlmaEvent, aws.sns.Topic>;
  readonly usersQueue: aws.sqs.Queue;
  readonly usersDeadLetterQueue: DeadLetterQueue;
  /** Events SNS could not deliver to a cache function's queue, and messages a function failed on every receive. */
  readonly failedEvents: DeadLetterQueue;
  readonly functions: Record<string, NodeFunction> = {};
  /** Each cache function's queue, fed by its topics, by function. */
  readonly queues: Record<string, aws.sqs.Queue> = {};
  /** Each cache function's event source mapping on its queue, by function. */
  readonly eventSources: Record<string, aws.lambda.EventSourceMapping> = {};
  readonly webhook: { function: NodeFunction; api: HttpApi; url: pulumi.Output<string> };
  readonly dashboard: AppDashboard;
  private readonly queueMonitoring: QueueMonitoring[] = [];
  /** The stack outputs of the app. */
  readonly outputs: Record<string, pulumi.Input<unknown>>;
  /** The app's dead-letter queues, for the stack's `deadLetterQueues` output (the replay command). */
  readonly deadLetterQueues: DeadLetterQueueOutput[];

  constructor(name: string, args: AlmaCacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:alma:AlmaCache", name, {}, opts);
    const { platform, hardening } = args;
    const table = (key: AlmaTable) =>
      dynamoTable(
        `${name}-${key}`,
        ALMA_TABLES[key],
        { protection: platform.protection, hardening, existingName: args.tableNames[key] },
        { parent: this },
      );

    this.tables = { users: table("users"), loans: table("loans"), requests: table("requests") };
    this.tombstones = dynamoTable(`${name}-tombstones`, TOMBSTONES_TABLE, { protection: platform.protection, hardening }, { parent: this });
    this.topics = Object.fromEntries(ALMA_EVENTS.map((event) => [event, this.topic(name, event, args)])) as Record<
      AlmaEvent,
      aws.sns.Topic
    >;
    this.topicArns = Object.fromEntries(ALMA_EVENTS.map((event) => [event, this.topics[event].arn])) as Record<
      AlmaEvent,
      pulumi.Output<string>
    >;
    this.failedEvents = new DeadLetterQueue(
      `${name}-failed-events`,
      {
        platform,
        description: "Alma events that a cache function could not apply",
        // SNS puts a message here when it cannot deliver it to a function's queue at all.
        senders: ALMA_EVENTS.map((event) => ({ service: "sns.amazonaws.com", sourceArn: this.topicArns[event] })),
        hardening,
      },
      { parent: this },
    );
    this.usersDeadLetterQueue = new DeadLetterQueue(
      `${name}-users-dlq`,
      {
        platform,
        description: `users the bulk-update service failed to load ${USERS_QUEUE_MAX_RECEIVES} times`,
        existingUrl: args.usersDeadLetterQueueUrl,
        hardening,
      },
      { parent: this },
    );
    this.usersQueue = this.usersQueueOf(name, args);
    // LAG-bulk-update-cache consumes it; the alarms only read its metrics.
    const usersQueueMonitoring = queueAlarms(
      `${name}-users`,
      { queue: this.usersQueue, role: "work", holds: "users for LAG-bulk-update-cache to load" },
      platform.alarming,
      { parent: this },
    );
    for (const spec of CACHE_FUNCTIONS) this.functions[spec.handler] = this.cacheFunction(name, spec, args);
    this.webhook = this.webhookOf(name, args);
    this.dashboard = new AppDashboard(
      `${name}-dashboard`,
      {
        app: "alma",
        functions: [...Object.values(this.functions), this.webhook.function].map((fn) => fn.monitoring),
        queues: [...this.queueMonitoring, usersQueueMonitoring, this.failedEvents.monitoring, this.usersDeadLetterQueue.monitoring],
        apis: [this.webhook.api.monitoring],
        alarming: platform.alarming,
      },
      { parent: this },
    );
    this.deadLetterQueues = [
      // A message here came from a function's queue (SQS's redrive) or from a topic (SNS could not deliver it to the queue).
      this.failedEvents.forReplay("alma", {
        sources: CACHE_FUNCTIONS.flatMap((spec) => [
          { arn: this.queues[spec.handler].arn, functionName: this.functions[spec.handler].functionName },
          ...spec.topics.map((event) => ({ arn: this.topicArns[event], functionName: this.functions[spec.handler].functionName })),
        ]),
      }),
      // LAG-bulk-update-cache reads the users queue: a replay puts the user back there.
      this.usersDeadLetterQueue.forReplay("alma", { sendBackTo: { url: this.usersQueue.url, arn: this.usersQueue.arn } }),
    ];

    this.outputs = {
      tables: Object.fromEntries(Object.entries(this.tables).map(([key, t]) => [key, { name: t.name, arn: t.arn }])),
      usersQueue: { url: this.usersQueue.url, arn: this.usersQueue.arn },
      topicArns: this.topicArns,
      cacheQueues: Object.fromEntries(Object.entries(this.queues).map(([handler, q]) => [handler, { url: q.url, arn: q.arn }])),
      webhookUrl: this.webhook.url,
      dashboard: this.dashboard.outputs,
    };
    this.registerOutputs(this.outputs);
  }

  /** The topic of one Alma event: the existing one, adopted, or a new one, encrypted unless the app says otherwise. */
  private topic(name: string, event: AlmaEvent, args: AlmaCacheArgs): aws.sns.Topic {
    const existing = args.topicArns[event];
    const adopted = existing !== undefined;
    const encrypted = applies(args.hardening, "encryption", adopted);
    return new aws.sns.Topic(
      `${name}-topic-${slug(event)}`,
      {
        name: existing && topicNameOf(existing),
        displayName: topicDisplayName(event),
        kmsMasterKeyId: encrypted ? "alias/aws/sns" : undefined,
      },
      statefulOptions(
        args.platform.protection,
        { parent: this },
        adopted ? { importId: existing, keep: keptUnless(encrypted, adopted, ["kmsMasterKeyId"]) } : undefined,
      ),
    );
  }

  /**
   * The queue of users the cache does not know, which the bulk-update service reads: we only
   * send to it, so an adopted one keeps its settings until an improvement applies.
   */
  private usersQueueOf(name: string, args: AlmaCacheArgs): aws.sqs.Queue {
    const adopted = args.usersQueueUrl !== undefined;
    const encrypted = applies(args.hardening, "encryption", adopted);
    const tlsOnly = applies(args.hardening, "tlsOnly", adopted);
    const queueSettings = applies(args.hardening, "queueSettings", adopted);
    // The consumer must finish a message before it becomes visible again: 6 times its
    // timeout leaves room for its own retries.
    const visibility =
      args.usersQueueConsumerTimeoutSeconds !== undefined ? 6 * args.usersQueueConsumerTimeoutSeconds : DEFAULT_VISIBILITY_TIMEOUT_SECONDS;
    const queue = new aws.sqs.Queue(
      `${name}-users`,
      {
        name: args.usersQueueUrl && queueNameOf(args.usersQueueUrl),
        sqsManagedSseEnabled: adopted && !encrypted ? undefined : encrypted,
        visibilityTimeoutSeconds: adopted && !queueSettings ? undefined : visibility,
        redrivePolicy: pulumi.jsonStringify({
          deadLetterTargetArn: this.usersDeadLetterQueue.arn,
          maxReceiveCount: USERS_QUEUE_MAX_RECEIVES,
        }),
      },
      statefulOptions(
        args.platform.protection,
        { parent: this },
        adopted
          ? {
              importId: args.usersQueueUrl!,
              keep: [
                ...keptUnless(encrypted, adopted, ["sqsManagedSseEnabled"]),
                ...keptUnless(queueSettings, adopted, ["visibilityTimeoutSeconds"]),
              ],
            }
          : undefined,
      ),
    );
    // The cache functions send with their roles, and LAG-bulk-update-cache reads with its own: no sender needs the policy.
    if (tlsOnly) queuePolicy(`${name}-users-policy`, queue, { senders: [], tlsOnly }, { parent: this });
    return queue;
  }

  /**
   * One cache function and its queue: the function's topics send to the queue, and the
   * function reads it through an event source mapping (disabled while `paused`). The function
   * is allowed only the requests its spec lists, and to read its own queue.
   */
  private cacheFunction(name: string, spec: (typeof CACHE_FUNCTIONS)[number], args: AlmaCacheArgs): NodeFunction {
    const short = spec.handler.replace(/^alma-/, "");
    const topicArns = spec.topics.map((event) => this.topicArns[event]);
    const queue = new aws.sqs.Queue(
      `${name}-${short}-queue`,
      {
        sqsManagedSseEnabled: true,
        messageRetentionSeconds: CACHE_QUEUE_RETENTION_SECONDS,
        visibilityTimeoutSeconds: visibilityTimeoutFor(args.function.timeoutSeconds),
        redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: this.failedEvents.arn, maxReceiveCount: CACHE_QUEUE_MAX_RECEIVES }),
      },
      statefulOptions(args.platform.protection, { parent: this }),
    );
    const policy = queuePolicy(
      `${name}-${short}-queue-policy`,
      queue,
      {
        senders: topicArns.map((sourceArn) => ({ service: "sns.amazonaws.com", sourceArn })),
        tlsOnly: applies(args.hardening, "tlsOnly", false),
      },
      { parent: this },
    );
    const fn = new NodeFunction(
      `${name}-${short}`,
      {
        handler: spec.handler,
        description: `Alma cache: ${spec.topics.join(", ")}`,
        ...functionSizing(args.function),
        environment: {
          [ALMA_ENV.usersTable]: this.tables.users.name,
          [ALMA_ENV.loansTable]: this.tables.loans.name,
          [ALMA_ENV.requestsTable]: this.tables.requests.name,
          [ALMA_ENV.usersQueueUrl]: this.usersQueue.url,
          [ALMA_ENV.tombstonesTable]: this.tombstones.name,
        },
        statements: [
          { Sid: "WriteOwnTable", Action: spec.itemActions, Resource: [this.tables[spec.table].arn] },
          { Sid: "KeepTombstones", Action: spec.tombstoneActions, Resource: [this.tombstones.arn] },
          { Sid: "LinkToUser", Action: ["dynamodb:GetItem", "dynamodb:UpdateItem"], Resource: [this.tables.users.arn] },
          { Sid: "QueueUnknownUsers", Action: ["sqs:SendMessage"], Resource: [this.usersQueue.arn] },
          queueConsumerStatement(queue.arn),
        ],
        platform: args.platform,
      },
      { parent: this },
    );
    // SNS can send only once the queue's policy lets it.
    spec.topics.forEach((event, i) => {
      subscribeQueue(
        `${name}-${short}-${slug(event)}`,
        { topicArn: topicArns[i], queue, deadLetterQueue: this.failedEvents },
        { parent: this, dependsOn: [policy] },
      );
    });
    this.queueMonitoring.push(
      queueAlarms(
        `${name}-${short}-queue`,
        { queue, role: "work", holds: `Alma events for ${spec.handler}`, ageThresholdSeconds: CACHE_QUEUE_AGE_ALARM_SECONDS },
        args.platform.alarming,
        { parent: this },
      ),
    );
    this.queues[spec.handler] = queue;
    this.eventSources[spec.handler] = queueEventSource(
      `${name}-${short}-events`,
      {
        queue,
        function: fn,
        batchSize: CACHE_BATCH_SIZE,
        maximumConcurrency: args.maximumConcurrency,
        enabled: !args.paused,
      },
      { parent: this },
    );
    return fn;
  }

  /** The webhook: verifies each delivery with the signing secret and publishes it to its event's topic. */
  private webhookOf(name: string, args: AlmaCacheArgs): AlmaCache["webhook"] {
    const secret = secureParameter(
      `${name}-webhook-secret`,
      { value: args.webhookSecret, description: "Alma webhook signing secret" },
      { parent: this },
    );
    const fn = new NodeFunction(
      `${name}-webhook`,
      {
        handler: "alma-webhook",
        description: "Verifies Alma webhook deliveries and publishes them to their topics",
        memorySize: args.function.memoryMb,
        timeout: Math.min(args.function.timeoutSeconds, WEBHOOK_MAX_TIMEOUT_SECONDS),
        environment: {
          ...Object.fromEntries(ALMA_EVENTS.map((event) => [topicArnEnv(event), this.topicArns[event]])),
          ...secretsEnvironment({ [ALMA_ENV.webhookSecret]: secret }, args.platform),
          ...(args.webhookSecretRotationWindowHours === undefined
            ? {}
            : { [ALMA_ENV.webhookSecretRotationWindowHours]: String(args.webhookSecretRotationWindowHours) }),
        },
        statements: [
          { Sid: "PublishAlmaEvents", Action: ["sns:Publish"], Resource: ALMA_EVENTS.map((event) => this.topicArns[event]) },
          secret.readStatement,
        ],
        readsSecrets: true,
        platform: args.platform,
      },
      { parent: this },
    );
    const api = new HttpApi(
      `${name}-webhook-api`,
      {
        description: "Alma webhook",
        routes: WEBHOOK_ROUTES.map((routeKey) => ({ routeKey, function: fn })),
        throttling: args.webhookThrottling ?? { burstLimit: 50, rateLimit: 25 },
        platform: args.platform,
      },
      { parent: this },
    );
    return { function: fn, api, url: pulumi.interpolate`${api.url}/webhook` };
  }
}
