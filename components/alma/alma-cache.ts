import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AlmaConfig } from "../../config";
import { ALMA_ENV, ALMA_EVENTS, type AlmaEvent, secretParamEnv, topicArnEnv } from "../../handlers/lib/env-names";
import { type Alarming, DeadLetterQueue } from "../events/dead-letter-queue";
import { HttpApi } from "../http/http-api";
import { NodeFunction, type PolicyStatement } from "../lambda/node-function";
import { secureParameter } from "../secrets/secure-parameter";
import { type Protection, queueNameOf, statefulOptions, topicNameOf } from "../storage/stateful";
import { dynamoTable } from "../storage/table";
import { ALMA_TABLES, TOMBSTONES_TABLE } from "./tables";

type AlmaTable = keyof typeof ALMA_TABLES;

/**
 * Which function keeps which table current, from which topics, and the requests it makes:
 * an update writes its item (and deletes it again if a tombstone says it was closed by a
 * newer event) and reads the tombstone; a close writes the tombstone and deletes the item.
 * Both read and update the user.
 */
export const CACHE_FUNCTIONS: { handler: string; topics: AlmaEvent[]; table: AlmaTable; itemActions: string[]; tombstoneActions: string[] }[] = [
  {
    handler: "alma-loan-updated",
    topics: ["LOAN_CREATED", "LOAN_RENEWED", "LOAN_DUE_DATE"],
    table: "loans",
    itemActions: ["dynamodb:PutItem", "dynamodb:DeleteItem"],
    tombstoneActions: ["dynamodb:GetItem"],
  },
  { handler: "alma-loan-returned", topics: ["LOAN_RETURNED"], table: "loans", itemActions: ["dynamodb:DeleteItem"], tombstoneActions: ["dynamodb:UpdateItem"] },
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
/** SQS's own default visibility timeout, kept while no consumer is configured. */
const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 30;

export interface AlmaCacheArgs {
  /** Existing topic per event, adopted in place; every other event gets a new topic. */
  topicArns: AlmaConfig["topicArns"];
  /** Existing cache tables, adopted in place; every other table is created. */
  tableNames: AlmaConfig["tableNames"];
  /** The existing users queue and its dead-letter queue, adopted in place. */
  usersQueueUrl?: string;
  usersDeadLetterQueueUrl?: string;
  /** Timeout of the users-queue consumer; the queue's visibility timeout is 6 times it. */
  usersQueueConsumerTimeoutSeconds?: number;
  function: AlmaConfig["function"];
  /** Lambda's retries of each cache function's asynchronous (SNS) invocations. */
  delivery: AlmaConfig["delivery"];
  /** The webhook signing secret (a config secret), kept in SSM. */
  webhookSecret: pulumi.Input<string>;
  /** Default throttling of the webhook API. */
  webhookThrottling?: { burstLimit: number; rateLimit: number };
  /** The stage's protection of the tables, topics and queues. */
  protection: Protection;
  logRetentionDays: number;
  alarming: Alarming;
}

/** `LOAN_CREATED` → `loan-created`, for logical names. */
const slug = (event: string) => event.toLowerCase().replace(/_/g, "-");

/**
 * alma: Alma webhooks reach one SNS topic per event; four functions keep the loans,
 * requests and users tables current, and queue users the cache does not know for the
 * bulk-update service. The webhook verifies each delivery and publishes it to its topic.
 */
export class AlmaCache extends pulumi.ComponentResource {
  readonly tables: Record<AlmaTable, aws.dynamodb.Table>;
  /** Returned loans and closed requests, for two weeks: this stack's own table. */
  readonly tombstones: aws.dynamodb.Table;
  readonly topicArns: Record<AlmaEvent, pulumi.Output<string>>;
  readonly topics: Record<AlmaEvent, aws.sns.Topic>;
  readonly usersQueue: aws.sqs.Queue;
  readonly usersDeadLetterQueue: DeadLetterQueue;
  /** Events SNS could not deliver, and invocations that failed every retry, of all four functions. */
  readonly failedEvents: DeadLetterQueue;
  readonly functions: Record<string, NodeFunction> = {};
  readonly webhook: { function: NodeFunction; api: HttpApi; url: pulumi.Output<string> };

  constructor(name: string, args: AlmaCacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:alma:AlmaCache", name, {}, opts);

    const table = (key: AlmaTable) =>
      dynamoTable(`${name}-${key}`, ALMA_TABLES[key], args.protection, { parent: this }, args.tableNames[key]);
    this.tables = { users: table("users"), loans: table("loans"), requests: table("requests") };
    this.tombstones = dynamoTable(`${name}-tombstones`, TOMBSTONES_TABLE, args.protection, { parent: this });

    const topics = {} as Record<AlmaEvent, aws.sns.Topic>;
    const topicArns = {} as Record<AlmaEvent, pulumi.Output<string>>;
    for (const event of ALMA_EVENTS) {
      const existing = args.topicArns[event];
      topics[event] = new aws.sns.Topic(
        `${name}-topic-${slug(event)}`,
        { name: existing && topicNameOf(existing), kmsMasterKeyId: "alias/aws/sns" },
        statefulOptions(args.protection, { parent: this }, existing ? { importId: existing } : undefined),
      );
      topicArns[event] = topics[event].arn;
    }
    this.topics = topics;
    this.topicArns = topicArns;

    this.failedEvents = new DeadLetterQueue(
      `${name}-failed-events`,
      {
        alarming: args.alarming,
        description: "Alma events that a cache function could not apply",
        // SNS puts a message here when it cannot invoke the function at all.
        senders: ALMA_EVENTS.map((event) => ({ service: "sns.amazonaws.com", sourceArn: topicArns[event] })),
        protection: args.protection,
      },
      { parent: this },
    );

    this.usersDeadLetterQueue = new DeadLetterQueue(
      `${name}-users-dlq`,
      {
        alarming: args.alarming,
        description: `users the bulk-update service failed to load ${USERS_QUEUE_MAX_RECEIVES} times`,
        protection: args.protection,
        existingUrl: args.usersDeadLetterQueueUrl,
      },
      { parent: this },
    );
    this.usersQueue = new aws.sqs.Queue(
      `${name}-users`,
      {
        name: args.usersQueueUrl && queueNameOf(args.usersQueueUrl),
        sqsManagedSseEnabled: true,
        // The consumer must finish a message before it becomes visible again: 6 times its
        // timeout leaves room for its own retries.
        visibilityTimeoutSeconds:
          args.usersQueueConsumerTimeoutSeconds !== undefined ? 6 * args.usersQueueConsumerTimeoutSeconds : DEFAULT_VISIBILITY_TIMEOUT_SECONDS,
        redrivePolicy: pulumi.jsonStringify({
          deadLetterTargetArn: this.usersDeadLetterQueue.arn,
          maxReceiveCount: USERS_QUEUE_MAX_RECEIVES,
        }),
      },
      statefulOptions(args.protection, { parent: this }, args.usersQueueUrl ? { importId: args.usersQueueUrl } : undefined),
    );

    const environment = {
      [ALMA_ENV.usersTable]: this.tables.users.name,
      [ALMA_ENV.loansTable]: this.tables.loans.name,
      [ALMA_ENV.requestsTable]: this.tables.requests.name,
      [ALMA_ENV.usersQueueUrl]: this.usersQueue.url,
      [ALMA_ENV.tombstonesTable]: this.tombstones.name,
    };
    for (const spec of CACHE_FUNCTIONS) {
      const short = spec.handler.replace(/^alma-/, "");
      const statements: PolicyStatement[] = [
        { Sid: "WriteOwnTable", Action: spec.itemActions, Resource: [this.tables[spec.table].arn] },
        { Sid: "KeepTombstones", Action: spec.tombstoneActions, Resource: [this.tombstones.arn] },
        { Sid: "LinkToUser", Action: ["dynamodb:GetItem", "dynamodb:UpdateItem"], Resource: [this.tables.users.arn] },
        { Sid: "QueueUnknownUsers", Action: ["sqs:SendMessage"], Resource: [this.usersQueue.arn] },
      ];
      const fn = new NodeFunction(
        `${name}-${short}`,
        {
          handler: spec.handler,
          description: `Alma cache: ${spec.topics.join(", ")}`,
          memorySize: args.function.memoryMb,
          timeout: args.function.timeoutSeconds,
          reservedConcurrency: args.function.reservedConcurrency,
          tracing: args.function.tracing,
          environment,
          statements,
          logRetentionDays: args.logRetentionDays,
          alarming: args.alarming,
          asyncInvocation: { ...args.delivery, failureQueue: this.failedEvents },
        },
        { parent: this },
      );
      this.functions[spec.handler] = fn;
      for (const event of spec.topics) {
        new aws.lambda.Permission(
          `${name}-${short}-${slug(event)}-invoke`,
          { action: "lambda:InvokeFunction", function: fn.functionName, principal: "sns.amazonaws.com", sourceArn: topicArns[event] },
          { parent: this },
        );
        new aws.sns.TopicSubscription(
          `${name}-${short}-${slug(event)}`,
          {
            topic: topicArns[event],
            protocol: "lambda",
            endpoint: fn.arn,
            redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: this.failedEvents.arn }),
          },
          { parent: this },
        );
      }
    }

    const secret = secureParameter(
      `${name}-webhook-secret`,
      { value: args.webhookSecret, description: "Alma webhook signing secret" },
      { parent: this },
    );
    const webhook = new NodeFunction(
      `${name}-webhook`,
      {
        handler: "alma-webhook",
        description: "Verifies Alma webhook deliveries and publishes them to their topics",
        memorySize: args.function.memoryMb,
        timeout: Math.min(args.function.timeoutSeconds, 29),
        environment: {
          ...Object.fromEntries(ALMA_EVENTS.map((event) => [topicArnEnv(event), topicArns[event]])),
          [secretParamEnv(ALMA_ENV.webhookSecret)]: secret.name,
        },
        statements: [
          { Sid: "PublishAlmaEvents", Action: ["sns:Publish"], Resource: ALMA_EVENTS.map((event) => topicArns[event]) },
          secret.readStatement,
        ],
        logRetentionDays: args.logRetentionDays,
        alarming: args.alarming,
      },
      { parent: this },
    );
    const api = new HttpApi(
      `${name}-webhook-api`,
      {
        description: "Alma webhook",
        routes: WEBHOOK_ROUTES.map((routeKey) => ({ routeKey, function: webhook })),
        throttling: args.webhookThrottling ?? { burstLimit: 50, rateLimit: 25 },
        logRetentionDays: args.logRetentionDays,
      },
      { parent: this },
    );
    this.webhook = { function: webhook, api, url: pulumi.interpolate`${api.url}/webhook` };

    this.registerOutputs({
      tableNames: { users: this.tables.users.name, loans: this.tables.loans.name, requests: this.tables.requests.name },
      usersQueueUrl: this.usersQueue.url,
      webhookUrl: this.webhook.url,
    });
  }
}
